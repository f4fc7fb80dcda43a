# tests/fuzz/: one libFuzzer target per parser of outside input. `make fuzz`
# builds them with clang against the same sources the daemon links; CI runs
# each briefly (scripts/test.sh). They are not part of `make check`.
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -Wno-unused-parameter
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests $(CORE_DEP_CFLAGS)
FUZZ_CORE_SRCS = $(addprefix $(top_srcdir)/,$(filter %.c,$(daemon_libcore_la_SOURCES)))
FUZZ_TARGETS = %D%/fuzz_config %D%/fuzz_http
EXTRA_DIST += %D%/fuzz_config.c %D%/fuzz_http.c %D%/README.md %D%/corpus
# templates (Mustache engine)
FUZZ_TARGETS += %D%/fuzz_template
EXTRA_DIST += %D%/fuzz_template.c
# templates/compose (template file header parser)
FUZZ_TARGETS += %D%/fuzz_template_file
EXTRA_DIST += %D%/fuzz_template_file.c
# (import) CSV/JSON-lines row parsing, mapping and validation
FUZZ_TARGETS += %D%/fuzz_csv_import
EXTRA_DIST += %D%/fuzz_csv_import.c
# -- window/holidays (cadences): iCalendar holidays and window texts --
FUZZ_TARGETS += %D%/fuzz_ical
EXTRA_DIST += %D%/fuzz_ical.c
# -- cadence definitions: a cadence file --
FUZZ_TARGETS += %D%/fuzz_cadence
EXTRA_DIST += %D%/fuzz_cadence.c
# -- enrich_mx: TTLs read from raw DNS answers (dns_ttl.c) --
FUZZ_TARGETS += %D%/fuzz_dns_answer
EXTRA_DIST += %D%/fuzz_dns_answer.c
# -- compose: lead data into mail headers and bodies (compose.c) --
FUZZ_TARGETS += %D%/fuzz_compose
EXTRA_DIST += %D%/fuzz_compose.c
# -- enrich_csv: a firmographics CSV loaded into the plugin's table --
FUZZ_TARGETS += %D%/fuzz_enrich_csv
EXTRA_DIST += %D%/fuzz_enrich_csv.c
%D%/fuzz_enrich_csv: $(top_srcdir)/%D%/fuzz_enrich_csv.c \
		$(top_srcdir)/plugins/enrich_csv/csv_table.c $(FUZZ_CORE_SRCS)
	@$(MKDIR_P) %D%
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -I$(top_srcdir)/plugins/enrich_csv \
		-o $@ $< $(top_srcdir)/plugins/enrich_csv/csv_table.c $(FUZZ_CORE_SRCS) $(CORE_DEP_LIBS)

# -- enrich_http: an API's reply read through the map's JSON pointers --
FUZZ_TARGETS += %D%/fuzz_enrich_http
EXTRA_DIST += %D%/fuzz_enrich_http.c
EHTTP_FUZZ_SRCS = $(addprefix $(top_srcdir)/plugins/enrich_http/,ehttp_conf.c ehttp_reply.c \
	ehttp_text.c)
%D%/fuzz_enrich_http: $(top_srcdir)/%D%/fuzz_enrich_http.c $(EHTTP_FUZZ_SRCS) $(FUZZ_CORE_SRCS)
	@$(MKDIR_P) %D%
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) $(CURL_CFLAGS) \
		-I$(top_srcdir)/plugins/enrich_http -o $@ $< $(EHTTP_FUZZ_SRCS) $(FUZZ_CORE_SRCS) \
		$(CORE_DEP_LIBS) $(CURL_LIBS)

fuzz: $(FUZZ_TARGETS)

%D%/fuzz_%: $(top_srcdir)/%D%/fuzz_%.c $(FUZZ_CORE_SRCS)
	@$(MKDIR_P) %D%
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o $@ $< $(FUZZ_CORE_SRCS) $(CORE_DEP_LIBS)

CLEANFILES += $(FUZZ_TARGETS)
.PHONY: fuzz
