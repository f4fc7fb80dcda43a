# plugins/enrich_guess: proposes email addresses from name + domain by common patterns (jansson).
pkglib_LTLIBRARIES += %D%/enrich_guess.la
%C%_enrich_guess_la_SOURCES = %D%/enrich_guess.c %D%/guess_name.c %D%/guess_name.h \
	%D%/guess_prior.c %D%/guess_prior.h
%C%_enrich_guess_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
%C%_enrich_guess_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
%C%_enrich_guess_la_LIBADD = $(JANSSON_LIBS)
