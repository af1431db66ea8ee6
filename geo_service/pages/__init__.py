"""HTML pages people read (Folium maps and small pages), framework-free; translations; vendored assets."""
