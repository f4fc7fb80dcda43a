# tests/: TAP programs run by make check through automake's TAP driver.
check_LTLIBRARIES += %D%/libtap.la
%C%_libtap_la_SOURCES = %D%/tap.c %D%/tap.h
TEST_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS) -I$(top_srcdir)/tests
TEST_LDADD = %D%/libtap.la daemon/libcore.la $(CORE_DEP_LIBS)

check_PROGRAMS += %D%/unit/t_errors
%C%_unit_t_errors_SOURCES = %D%/unit/t_errors.c
%C%_unit_t_errors_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_errors_LDADD = $(TEST_LDADD)
# -- config tests --
# -- store tests --
# -- plugin tests --
# -- http tests --
# -- end-to-end tests --

TESTS += $(check_PROGRAMS)
