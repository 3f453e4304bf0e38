"""Import jobs in the browser, for admins (/maps/admin/imports): upload a GIS file for a dry
run, read its report and problems, then start the import of that very file.

The same machinery as ``POST /imports`` with ``Prefer: respond-async``
(``locations.import_jobs``): the dry run is a job, followed on its page while it runs.
The file stays on the server meanwhile (``locations.staged_uploads``), bound to the
admin's session, so that what is started is exactly what was checked.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.routes.desk import (
    back_to,
    checked_form,
    html,
    refusal,
    session_key,
    shown_name,
)
from api.routes.imports import ImportForm, receive_form
from api.routes.pages import PageDep
from api.sessions import PersonDep, check_csrf, csrf_token
from locations import import_jobs, staged_uploads
from locations.accounts import Account, authorise
from locations.errors import InvalidInput, LocationsError, NotFound
from locations.imports.sources import SUFFIXES
from locations.limits import MAX_STAGED_BYTES
from locations.mappings import available_mappings
from locations.values import BIGINT_MAX
from maps.desk_pages import build_import_job_page, build_imports_page

router = APIRouter(tags=["pages"])
PATH = "/maps/admin/imports"
JobId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="An import job's id")]


def _options(fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The form's target and the import's options, checked as ``POST /imports`` checks them.

    Raises:
        InvalidInput: naming the field.
    """
    values = {key: value for key, value in fields.items()
              if key in ImportForm.model_fields and value.strip()}
    values.update({flag: fields.get(flag) == "true"
                   for flag in ("make_valid", "skip_invalid", "rename", "reassign")})
    try:
        form = ImportForm.model_validate(values)
    except Exception as exc:  # noqa: BLE001 - pydantic's errors, said per field
        errors = getattr(exc, "errors", list)()
        field = str(errors[0]["loc"][0]) if errors else "form"
        raise InvalidInput(field, errors[0]["msg"] if errors else str(exc)) from None
    if form.mapping is not None and form.mapping not in available_mappings():
        raise InvalidInput("mapping", f"unknown mapping {form.mapping!r}")
    options = form.model_dump(exclude={"target", "dry_run"})
    return form.target, options


def _list_page(request: Request, engine, person: Account, page, *, error: str | None = None,
               form: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    with engine.connect() as conn:
        jobs = import_jobs.list_jobs(conn, person)
    return html(build_imports_page(page.t, page, jobs=jobs, csrf=csrf_token(request),
                                   error=error, form=form), status_code)


@router.get(PATH, response_class=HTMLResponse, include_in_schema=False)
def imports(request: Request, engine: EngineDep, person: PersonDep, page: PageDep) -> HTMLResponse:
    try:
        authorise(person, "import anything")
        return _list_page(request, engine, person, page)
    except LocationsError as exc:
        return refusal(page, exc)


@router.post(PATH, include_in_schema=False)
async def dry_run(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    page: PageDep,
) -> Response:
    fields: dict[str, str] = {}
    try:
        authorise(person, "import anything")
        folder = FilePath(await run_in_threadpool(tempfile.mkdtemp, prefix="locations-import-page-"))
        handed_over = False
        try:
            fields, upload = await receive_form(request, folder, suffixes=SUFFIXES)
            await check_csrf(request, fields)
            if upload is None:
                raise InvalidInput("file", "choose a file to import")
            upload.name = shown_name(upload.name)
            target, options = _options(fields)
            size = (await run_in_threadpool(upload.path.stat)).st_size
            if size > MAX_STAGED_BYTES:
                # Refused before it is read into memory: kept for the start, it must fit.
                raise InvalidInput("file", f"the file has {size / 1024 / 1024:.0f} MB; this page "
                                           f"takes at most {MAX_STAGED_BYTES // 1024 // 1024} MB: "
                                           "send larger files with POST /imports or "
                                           "'locations import'")
            content = await run_in_threadpool(upload.path.read_bytes)
            key = session_key(request)

            def start() -> int:
                with engine.begin() as conn:
                    job_id = import_jobs.create_job(conn, person, target, upload.name,
                                                    {**options, "dry_run": True})
                    staged_uploads.stage(conn, person, key, "import", upload.name, content,
                                         options={"target": target, **options}, job_id=job_id)
                import_jobs.start_job(engine, job_id, upload.path, account=person,
                                      remove=folder, target_name=target,
                                      display_name=upload.name, dry_run=True, **options)
                return job_id

            job_id = await run_in_threadpool(start)
            handed_over = True
        finally:
            if not handed_over:
                await run_in_threadpool(shutil.rmtree, folder, True)
    except InvalidInput as exc:
        message = str(exc)
        try:
            return await run_in_threadpool(
                lambda: _list_page(request, engine, person, page, error=message,
                                   form={k: v for k, v in fields.items() if k != "csrf"},
                                   status_code=400))
        except LocationsError as again:
            return refusal(page, again)
    except LocationsError as exc:
        return refusal(page, exc)
    return back_to(page, f"{PATH}/{job_id}")


@router.get(PATH + "/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def job(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    job_id: JobId,
    page: PageDep,
) -> HTMLResponse:
    try:
        authorise(person, "import anything")
        with engine.begin() as conn:
            found = import_jobs.get_job(conn, job_id, person)
            startable = (bool((found.get("options") or {}).get("dry_run"))
                         and found["state"] == "succeeded"
                         and staged_uploads.for_job(conn, person, session_key(request),
                                                    job_id) is not None)
    except LocationsError as exc:
        return refusal(page, exc)
    return html(build_import_job_page(page.t, page, job=found, csrf=csrf_token(request),
                                      startable=startable))


@router.get(PATH + "/{job_id}/problems.csv", include_in_schema=False)
def problems(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    job_id: JobId,
    page: PageDep,
) -> Response:
    try:
        authorise(person, "import anything")
        with engine.connect() as conn:
            content = import_jobs.problems_csv(conn, job_id, person)
    except LocationsError as exc:
        return refusal(page, exc)
    return Response(content, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{job_id}-problems.csv"',
        "Cache-Control": "no-store"})


@router.post(PATH + "/{job_id}/start", include_in_schema=False)
async def start(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    job_id: JobId,
    page: PageDep,
) -> Response:
    try:
        authorise(person, "import anything")
        await checked_form(request)
        key = session_key(request)

        def run() -> int:
            with engine.begin() as conn:
                checked = import_jobs.get_job(conn, job_id, person)
                staged = staged_uploads.for_job(conn, person, key, job_id)
                if staged is None or checked["state"] != "succeeded":
                    raise NotFound(f"import job {job_id} has no checked file kept for this "
                                   "session: upload the file again")
                options = dict(staged["options"])
                target = options.pop("target")
                folder = FilePath(tempfile.mkdtemp(prefix="locations-import-page-"))
                path = folder / f"upload{FilePath(staged['file_name']).suffix.lower()}"
                path.write_bytes(staged["content"])
                new_id = import_jobs.create_job(conn, person, target, staged["file_name"],
                                                options)
                staged_uploads.discard(conn, staged["id"])
            try:
                import_jobs.start_job(engine, new_id, path, account=person, remove=folder,
                                      target_name=target, display_name=staged["file_name"],
                                      **options)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            return new_id

        new_id = await run_in_threadpool(run)
    except LocationsError as exc:
        return refusal(page, exc)
    return back_to(page, f"{PATH}/{new_id}")
