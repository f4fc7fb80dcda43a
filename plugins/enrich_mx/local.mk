# plugins/enrich_mx: domain_status (and email_status) from the MX records of a lead's mail domain (host->dns_query).
pkglib_LTLIBRARIES += %D%/enrich_mx.la
%C%_enrich_mx_la_SOURCES = %D%/mx.c
%C%_enrich_mx_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
%C%_enrich_mx_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
%C%_enrich_mx_la_LIBADD = $(JANSSON_LIBS)
EXTRA_DIST += %D%/README.md
