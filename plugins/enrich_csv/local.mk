# plugins/enrich_csv: fills lead fields from a local CSV file keyed by domain or email (libcsv).
# daemon/csv_reader.c (the importer's libcsv reader) is compiled into the plugin:
# a plugin links nothing of the daemon's.
pkglib_LTLIBRARIES += %D%/enrich_csv.la
%C%_enrich_csv_la_SOURCES = %D%/enrich_csv.c %D%/csv_table.c %D%/csv_table.h \
	daemon/csv_reader.c daemon/csv_reader.h
%C%_enrich_csv_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
%C%_enrich_csv_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
%C%_enrich_csv_la_LIBADD = $(JANSSON_LIBS) $(CSV_LIBS)
