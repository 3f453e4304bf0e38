"""Imports: POST /imports uploads a GIS file, checked row by row, loaded all or nothing within
the caller's scope; with ``Prefer: respond-async`` it runs as a job, followed at /imports/{id}."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from api.auth import CurrentAccount, Importer
from api.deps import ConnectionDep, EngineDep
from locations import import_jobs
from locations.errors import Forbidden, InvalidInput
from locations.importer import import_file
from locations.imports.sources import SUFFIXES
from locations.mappings import available_mappings
from locations.vocabulary import REGION_LEVEL

router = APIRouter(tags=["imports"])

Target = Literal["regions", "municipalities", "seats", "zones", "plots", "infrastructure",
                 "constraints"]


RegionLevel = Literal[REGION_LEVEL.codes]


class ImportForm(BaseModel):
    """The form fields of ``POST /imports`` besides the file."""

    target: Target
    layer: str | None = None
    crs: str | None = Field(default=None, description="e.g. EPSG:3794, when the file has none")
    encoding: str | None = Field(
        default=None, description="a CSV's or shapefile's text encoding, e.g. iso-8859-2, when "
                                  "neither UTF-8 nor Windows-1250")
    mapping: str | None = Field(default=None, description="a shipped mapping, e.g. gurs-parcels")
    dry_run: bool = False
    make_valid: bool = False
    skip_invalid: bool = False
    effective_date: dt.date | None = Field(
        default=None, description="plots: the day the file's state took effect (e.g. the "
                                  "status as of a first load's day), when it is loaded later; "
                                  "default today")
    rename: bool = Field(default=False, description=(
        "regions and municipalities: accept the file's names for codes named otherwise here "
        "(without it, such a file is refused, each code listed)"))
    level: RegionLevel | None = Field(default=None, description=(
        "regions: the level of the file's regions (default: the file's or its mapping's, "
        "else each code's own)"))
    reassign: bool = Field(default=False, description=(
        "regions and municipalities: move the zones, plots or municipalities the new "
        "boundaries leave outside to where they lie, each move in their history (without it, "
        "such a file is refused, each one named)"))


def _request_body_schema() -> dict[str, Any]:
    """The multipart body as OpenAPI states it; the route parses it itself (see
    ``receive_form``), so FastAPI does not derive it."""
    schema = ImportForm.model_json_schema()
    schema["properties"] = {
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "title": "File", "description": "GeoPackage, zipped Shapefile, GeoJSON, "
                                                 "FlatGeobuf, CSV (WKT or lon/lat) or XLSX"},
        **schema["properties"]}
    schema["required"] = ["file", *schema.get("required", [])]
    return {"requestBody": {"required": True,
                            "content": {"multipart/form-data": {"schema": schema}}}}


#: A form's fields besides the file are short: their number and size are bounded, so that a
#: body of endless fields cannot fill the memory the way a file cannot (it goes to disk).
MAX_FIELDS = 20
MAX_FIELD_BYTES = 64 * 1024
#: The file is written in pieces of about this size, each off the event loop.
WRITE_BYTES = 1 << 20


@dataclass
class Upload:
    """The uploaded file: its name as sent (without folders) and where it was written."""

    name: str
    path: Path


class _FormToDisk:
    """Callbacks of a multipart parser: fields into memory, the one file part (``file``)
    into ``folder`` as it arrives, refused by its name's suffix before any of it is kept."""

    def __init__(self, folder: Path, suffixes: tuple[str, ...] | None = SUFFIXES) -> None:
        self.folder = folder
        self.suffixes = suffixes  # None: any name; the reader of the file decides
        self.fields: dict[str, str] = {}
        self.upload: Upload | None = None
        self.handle: BinaryIO | None = None
        self.pending = bytearray()  # file data not yet written
        self.ended = False  # the closing boundary arrived: the body is whole
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._name = ""
        self._value = bytearray()
        self._in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.on_part_begin, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished, "on_end": self.on_end}

    def on_part_begin(self) -> None:
        self._headers, self._header, self._value = {}, [b"", b""], bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header[0].lower()] = self._header[1]
        self._header = [b"", b""]

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise InvalidInput("file", "a form part without a name (Content-Disposition)")
        self._name = options[b"name"].decode("utf-8", "replace")
        self._in_file = b"filename" in options
        if not self._in_file:
            if len(self.fields) >= MAX_FIELDS:
                raise InvalidInput(self._name, f"more than {MAX_FIELDS} form fields")
            return
        if self._name != "file" or self.upload is not None:
            raise InvalidInput("file", "send one file, as the form field 'file'")
        name = Path(options[b"filename"].decode("utf-8", "replace")).name or "upload"
        suffix = Path(name).suffix.lower()
        if self.suffixes is not None and suffix not in self.suffixes:
            raise InvalidInput("file",
                               f"{name}: unknown format; use one of {', '.join(self.suffixes)}")
        self.upload = Upload(name, self.folder / f"upload{suffix}")
        self.handle = self.upload.path.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.pending += data[start:end]
            return
        if len(self._value) + end - start > MAX_FIELD_BYTES:
            raise InvalidInput(self._name, f"form field longer than {MAX_FIELD_BYTES} bytes")
        self._value += data[start:end]

    def on_part_end(self) -> None:
        if not self._in_file:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True

    async def flush(self) -> None:
        if self.pending and self.handle is not None:
            data, self.pending = self.pending, bytearray()
            await run_in_threadpool(self.handle.write, data)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


async def receive_form(request: Request, folder: Path, suffixes: tuple[str, ...] | None = SUFFIXES,
                       ) -> tuple[dict[str, str], Upload | None]:
    """Read a multipart/form-data body as it streams in: its fields, and its file written to
    ``folder`` (removing ``folder`` is the caller's). Called only once the caller is known,
    so an anonymous or unauthorised upload is refused before its body is read; its size is
    limited as it arrives (``BodySizeLimit``, LOCATIONS_MAX_UPLOAD_BYTES).

    Raises:
        InvalidInput: not multipart/form-data, malformed, cut short, a wrong or second file,
            an unknown file format, too many or too long fields.
    """
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise InvalidInput("file", "send the file and the fields as multipart/form-data")
    form = _FormToDisk(folder, suffixes)
    try:
        parser = MultipartParser(options[b"boundary"], form.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
            if len(form.pending) >= WRITE_BYTES:
                await form.flush()
        parser.finalize()
        await form.flush()
    except FormParserError as exc:  # a malformed body, or a boundary too long
        raise InvalidInput("file", f"not a well-formed multipart/form-data body: {exc}") from None
    except ClientDisconnect:
        # Nobody hears the answer; a refusal keeps a routine hang-up out of the error log.
        raise InvalidInput("file", "the upload was cut short: the client hung up") from None
    finally:
        form.close()
    if not form.ended:
        raise InvalidInput("file", "the form ended before its closing boundary: cut short?")
    return form.fields, form.upload


def _import_form(fields: dict[str, str], upload: Upload | None) -> ImportForm:
    """The fields checked as FastAPI checks declared ones: a 422 naming each field."""
    errors: list[dict[str, Any]] = []
    form = None
    try:
        form = ImportForm.model_validate(fields)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
    if upload is None:
        errors.insert(0, {"type": "missing", "loc": ("body", "file"), "msg": "Field required",
                          "input": None})
    if errors or form is None:
        raise RequestValidationError(errors)
    return form


@router.post("/imports", summary="Import a GIS file (all or nothing)",
             openapi_extra=_request_body_schema())
async def create_import(
    request: Request,
    engine: EngineDep,
    account: Importer,
    background: BackgroundTasks,
    response: Response,
    prefer: Annotated[str | None, Header(
        description="respond-async: answer 202 at once and run the import as a job, "
                    "followed at the Location given (for files that take minutes)")] = None,
) -> dict:
    """Check every row, then load: municipality editors only plots and zones of their own
    municipalities, agencies within their regions, admins everything.

    A file with any problem is refused whole (400, each problem with its row), unless
    ``skip_invalid``; rows outside the caller's scope are 403. With ``Prefer:
    respond-async`` the answer is 202 with the job (``Location: /imports/{id}``): the
    same checks and load run after the response, and the job tells its step, rows done
    and, at the end, the same report or refusal.

    The caller's token and role are checked before the body is read: an anonymous or
    investor's upload is refused at once, and none of it is stored.
    """
    folder = Path(await run_in_threadpool(tempfile.mkdtemp, prefix="locations-import-"))
    handed_over = False  # to the job, which removes the folder when it ends
    try:
        fields, upload = await receive_form(request, folder)
        form = _import_form(fields, upload)
        assert upload is not None  # _import_form refuses a form without a file
        if form.mapping is not None and form.mapping not in available_mappings() + ["generic"]:
            # Only shipped mappings: a path would let a caller read the server's files.
            raise InvalidInput("mapping", f"unknown mapping {form.mapping!r}; "
                                          f"shipped: {', '.join(available_mappings())}")
        # JSON-ready (a date as text): a job keeps its options in the database.
        options: dict[str, Any] = form.model_dump(exclude={"target"}, mode="json")
        if prefer and "respond-async" in prefer.lower():
            job = await run_in_threadpool(_start_job, engine, account, form.target, upload,
                                          folder, options, background, response)
            handed_over = True
            return job
        report = await run_in_threadpool(import_file, engine, form.target, upload.path,
                                         account=account, display_name=upload.name, **options)
    finally:
        if not handed_over:
            await run_in_threadpool(shutil.rmtree, folder, True)
    if any(field == "scope" for _, field, _ in report.problems) and not report.written:
        raise Forbidden(f"{report.summary()}:\n{report.describe_problems()}")
    if report.rejected:
        raise InvalidInput("file", f"{report.summary()}:\n{report.describe_problems()}")
    return report.as_dict()


def _start_job(engine, account, target: str, upload: Upload, folder: Path,
               options: dict[str, Any], background: BackgroundTasks,
               response: Response) -> dict[str, Any]:
    """Record the job, and run it after the response (202); from then on the job removes
    ``folder`` when it ends."""
    with engine.begin() as conn:
        job_id = import_jobs.create_job(conn, account, target, upload.name, options)
    # Queued after the response is sent: the import may not start before its 202 is out.
    background.add_task(_run_job, engine, job_id, upload.path, account=account,
                        remove=folder, target_name=target, display_name=upload.name, **options)
    response.status_code = 202
    response.headers["Location"] = f"/imports/{job_id}"
    response.headers["Preference-Applied"] = "respond-async"
    with engine.connect() as conn:
        return import_jobs.get_job(conn, job_id, account)


def _run_job(engine, job_id: int, path: Path, *, remove: Path, **options: Any) -> None:
    # The job removes the folder when it ends; if it cannot even be queued, this does.
    try:
        import_jobs.start_job(engine, job_id, path, remove=remove, **options)
    except BaseException:
        shutil.rmtree(remove, ignore_errors=True)
        raise


@router.get("/imports", summary="Your import jobs, newest first")
def list_imports(conn: ConnectionDep, account: CurrentAccount) -> dict[str, Any]:
    """The caller's latest import jobs (an admin's: everyone's), each with its state and
    summary; the report is at each job's ``href``."""
    return {"jobs": import_jobs.list_jobs(conn, account)}


@router.get("/imports/{job_id}", summary="An import job: where it stands, then its report")
def get_import(conn: ConnectionDep, account: CurrentAccount, job_id: int) -> dict[str, Any]:
    """``state``: queued, running (``step``, ``done`` of ``total``), succeeded (``report``),
    refused (``report`` with the first problems and ``problems_total``, or ``error``),
    failed, or interrupted (the server stopped during it; nothing was written)."""
    return import_jobs.get_job(conn, job_id, account)


@router.get("/imports/{job_id}/problems", summary="Every problem of an import job's file, as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def get_import_problems(conn: ConnectionDep, account: CurrentAccount, job_id: int) -> Response:
    """``row,field,reason`` for every problem the job found (its report lists the first
    1,000 and ``problems_total``); 409 while the job is queued or running."""
    return Response(import_jobs.problems_csv(conn, job_id, account),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="import-{job_id}-problems.csv"'})
