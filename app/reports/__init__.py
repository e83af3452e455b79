"""Reports: PDF documents (reportlab) built from plain data; no Qt, no database sessions."""
