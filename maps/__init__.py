"""Map and page rendering with folium/branca: builders that take query results and return HTML."""
