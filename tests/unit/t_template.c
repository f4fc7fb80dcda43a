/* SPDX-License-Identifier: MIT */
/* tests/unit/t_template.c: drumbeat's additions to Mustache and the engine's
 * contract beyond the spec: fallbacks, spintax (deterministic per seed and
 * spread across seeds), lead-local dates on the test clock across a DST
 * change and with an unknown zone, the missing-variable list, lead data that
 * is never evaluated, escaping on and off, partials from a folder, and syntax
 * errors that name line:column and what was expected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "tap.h"
#include "template.h"

static struct template_render_opts opts;   /* each test sets what it needs */
static struct template_output last;         /* the last render (kept for missing checks) */
static struct errbuf err;

/* Compiles and renders src against JSON text; returns the text (static until
 * the next call) or "<error ...>". */
static int last_rc;

/* Writes open n times, then middle, then close n times, into out (room for
 * all of it is the caller's). */
static void nest(char *out, const char *open, int n, const char *middle, const char *close)
{
    out[0] = '\0';
    for (int k = 0; k < n; k++)
        strcat(out, open);
    strcat(out, middle);
    for (int k = 0; k < n; k++)
        strcat(out, close);
}

static const char *render_n(const char *src, size_t len, const char *json)
{
    static char buf[4096];
    struct template *t = NULL;
    json_t *ctx = json_loads(json, 0, NULL);
    template_output_free(&last);
    memset(&err, 0, sizeof err);
    int rc = template_compile(src, len, "t.mustache", &t, &err);
    if (rc == 0)
        rc = template_render(t, ctx, &opts, &last, &err);
    last_rc = rc;
    if (rc < 0)
        snprintf(buf, sizeof buf, "<error %d>", rc);
    else
        snprintf(buf, sizeof buf, "%s", last.text);
    template_free(t);
    json_decref(ctx);
    return buf;
}

static const char *render(const char *src, const char *json)
{
    return render_n(src, strlen(src), json);
}

static const char *missing(void)
{
    static char buf[512];
    return template_missing_join(&last, buf, sizeof buf);
}

static void fallbacks(void)
{
    memset(&opts, 0, sizeof opts);
    tap_is_str(render("Hi {{first_name|there}},", "{}"), "Hi there,", "fallback when missing");
    tap_is_str(missing(), "", "a fallback is not reported missing");
    tap_is_str(render("Hi {{first_name|there}},", "{\"first_name\":\"\"}"), "Hi there,",
               "fallback when empty");
    tap_is_str(render("Hi {{first_name|there}},", "{\"first_name\":null}"), "Hi there,",
               "fallback when null");
    tap_is_str(render("Hi {{ first_name | there }},", "{\"first_name\":\"Ada\"}"), "Hi Ada,",
               "the value when present (spaces around the bar allowed)");
    tap_is_str(render("{{{co|your team}}} / {{&co|your team}}", "{}"), "your team / your team",
               "fallback with triple mustache and ampersand");
    tap_is_str(render("{{co.name|you}}", "{\"co\":{\"name\":\"ACME\"}}"), "ACME",
               "fallback on a dotted name");
    tap_is_str(render("[{{x|}}]", "{}"), "[]", "an empty fallback makes a variable optional");
    tap_is_str(missing(), "", "... and not missing");
    opts.escape_html = true;
    tap_is_str(render("{{x|A&B}}", "{}"), "A&B", "fallback text is template text, never escaped");
    opts.escape_html = false;
}

static void spintax(void)
{
    const char *src = "{{#spin}}Hi|Hello|Hey {{name}}{{/spin}}!";
    memset(&opts, 0, sizeof opts);
    char first[64];
    opts.spin_seed = template_spin_seed("lead-42", 1);
    snprintf(first, sizeof first, "%s", render(src, "{\"name\":\"Ada\"}"));
    bool same = true;
    for (int i = 0; i < 20; i++)
        same = same && strcmp(render(src, "{\"name\":\"Ada\"}"), first) == 0;
    tap_ok(same, "the same seed gives the same text every time (%s)", first);
    tap_ok(template_spin_seed("lead-42", 1) == template_spin_seed("lead-42", 1) &&
           template_spin_seed("lead-42", 1) != template_spin_seed("lead-42", 2) &&
           template_spin_seed("lead-4", 21) != template_spin_seed("lead-42", 1),
           "the seed depends on lead id and step, stably");
    int count[3] = { 0 };
    for (int i = 0; i < 3000; i++) {
        char id[32];
        snprintf(id, sizeof id, "lead-%d", i);
        opts.spin_seed = template_spin_seed(id, 1);
        const char *s = render(src, "{\"name\":\"Ada\"}");
        count[strcmp(s, "Hi!") == 0 ? 0 : strcmp(s, "Hello!") == 0 ? 1 : 2]++;
    }
    tap_ok(count[0] > 850 && count[1] > 850 && count[2] > 850,
           "alternatives spread evenly across leads (%d/%d/%d of 3000)", count[0], count[1], count[2]);
    bool tags = false;
    for (uint64_t seed = 0; seed < 50 && !tags; seed++) {
        opts.spin_seed = seed;
        tags = strcmp(render(src, "{\"name\":\"Ada\"}"), "Hey Ada!") == 0;
    }
    tap_ok(tags, "an alternative may contain tags");
    opts.spin_seed = 7;
    const char *two = render("{{#spin}}a|b{{/spin}}{{#spin}}a|b{{/spin}}{{#spin}}{{#x}}1|2{{/x}}|3{{/spin}}",
                             "{\"x\":true}");
    tap_ok(strchr("ab", two[0]) && strchr("ab", two[1]) &&
           (strcmp(two + 2, "3") == 0 || strcmp(two + 2, "1|2") == 0),
           "several spins per template; a '|' inside a nested section is not a separator (%s)", two);
}

static void dates(void)
{
    int64_t ms;
    memset(&opts, 0, sizeof opts);
    clock_parse_iso("2026-11-01T03:30:00Z", &ms);
    clock_use_test(ms);
    opts.timezone = "America/New_York";
    opts.now_ms = clock_now_ms();
    tap_is_str(render("{{today}} {{weekday}}", "{}"), "2026-10-31 Saturday",
               "New York before midnight, daylight time (UTC-4)");
    tap_ok(!last.timezone_unknown, "a known zone is not reported");
    clock_advance(3600 * 1000);
    opts.now_ms = clock_now_ms();
    tap_is_str(render("{{today}} {{weekday}}", "{}"), "2026-11-01 Sunday", "one hour later: Sunday");
    clock_advance(24 * 3600 * 1000);    /* 2026-11-02T04:30Z: standard time since 06:00Z */
    opts.now_ms = clock_now_ms();
    tap_is_str(render("{{today}} {{weekday}}", "{}"), "2026-11-01 Sunday",
               "a day later it is still Sunday 23:30 (UTC-5 after the DST change)");
    opts.timezone = "Europe/Berlin";
    tap_is_str(render("{{today}} {{weekday}}", "{}"), "2026-11-02 Monday", "Berlin at the same instant");
    opts.timezone = "Mars/Olympus_Mons";
    tap_is_str(render("{{today}}", "{}"), "2026-11-02", "an unknown zone falls back to UTC");
    tap_ok(last.timezone_unknown, "... and is reported");
    opts.timezone = NULL;
    tap_is_str(render("{{today}}", "{\"today\":\"tomorrow\"}"), "tomorrow",
               "a context key named today wins over the builtin");
    tap_ok(!last.timezone_unknown, "no zone means UTC, not unknown");
}

static void missing_list(void)
{
    memset(&opts, 0, sizeof opts);
    render("{{b}} {{a}} {{b}} {{c|x}} {{co.name}} {{#list}}{{d}}{{/list}} {{#nope}}{{e}}{{/nope}}{{e2}}",
           "{\"a\":\"\",\"list\":[1,2]}");
    tap_is_str(missing(), "b, a, co.name, d, e2",
               "missing names: deduplicated, in first-use order, fallbacks and skipped sections excluded");
    tap_is_int((int64_t)template_missing_count(&last), 5, "five missing");
    tap_is_str(template_missing_name(&last, 0), "b", "template_missing_name(0)");
    tap_ok(template_missing_name(&last, 5) == NULL, "out of range gives NULL");
    render("{{a}} {{n}} {{f}} {{z}}", "{\"a\":\"x\",\"n\":0,\"f\":false,\"z\":1.5}");
    tap_is_str(missing(), "", "numbers and booleans are values");

    /* A name with a NUL in it (fuzz_template: the list grew once per item,
     * and the lookups went quadratic) is listed once, up to the NUL. */
    static const char nul_name[] = "{{#l}}{{a\0b}}{{/l}}";
    render_n(nul_name, sizeof nul_name - 1, "{\"l\":[1,2,3]}");
    tap_ok(last_rc == 0 && template_missing_count(&last) == 1 && strcmp(missing(), "a") == 0,
           "a missing name with a NUL in it is listed once (rc %d, %zu listed)", last_rc,
           template_missing_count(&last));
}

static void data_is_data(void)
{
    memset(&opts, 0, sizeof opts);
    const char *hostile = "{\"name\":\"{{#x}}{{/x}} {{> p}} {{=<% %>=}} {{{y}}} <%z%>\",\"x\":true,\"y\":\"Y\"}";
    tap_is_str(render("Hi {{name}}!", hostile), "Hi {{#x}}{{/x}} {{> p}} {{=<% %>=}} {{{y}}} <%z%>!",
               "Mustache syntax in lead data is printed as text");
    opts.escape_html = true;
    tap_is_str(render("{{name}}", hostile), "{{#x}}{{/x}} {{&gt; p}} {{=&lt;% %&gt;=}} {{{y}}} &lt;%z%&gt;",
               "... and only HTML-escaped when escaping is on");
}

static void escaping(void)
{
    const char *ctx = "{\"co\":\"AT&T <b>\\\"q\\\"</b> 'x'\"}";
    memset(&opts, 0, sizeof opts);
    opts.escape_html = true;
    tap_is_str(render("{{co}}|{{{co}}}|{{&co}}", ctx),
               "AT&amp;T &lt;b&gt;&quot;q&quot;&lt;/b&gt; 'x'|AT&T <b>\"q\"</b> 'x'|AT&T <b>\"q\"</b> 'x'",
               "escaping on: {{x}} escapes & < > \" exactly as the spec; {{{x}}} and {{&x}} do not");
    opts.escape_html = false;
    tap_is_str(render("{{co}}", ctx), "AT&T <b>\"q\"</b> 'x'", "escaping off: nothing is escaped");
    tap_is_str(render("{{n}} {{r}} {{b}}", "{\"n\":-42,\"r\":1.21,\"b\":true}"), "-42 1.21 true",
               "numbers print shortest, booleans as words");
}

static void expect_error(const char *src, int line, int col, const char *what, const char *name)
{
    struct template *t = NULL;
    memset(&err, 0, sizeof err);
    int rc = template_compile(src, strlen(src), "bad.mustache", &t, &err);
    char buf[1024];
    tap_ok(rc == -EINVAL && t == NULL && err.line == line && err.column == col &&
           strcmp(err.file, "bad.mustache") == 0 && strstr(err.what, what) != NULL,
           "%s: %s", name, errbuf_format(&err, buf, sizeof buf));
}

static void syntax_errors(void)
{
    expect_error("Hello\n  {{name\nmore", 2, 9, "expected '}}' to close the tag opened at 2:3", "unclosed tag");
    expect_error("{{{name}}", 1, 10, "expected '}}}' to close the tag opened at 1:1", "unclosed triple");
    expect_error("a\n{{#items}}\nx\n", 4, 1, "expected '{{/items}}' to close the section opened at 2:1",
                 "unclosed section");
    expect_error("{{#a}}\n {{^b}}x{{/a}}", 2, 9,
                 "expected '{{/b}}' to close the section opened at 2:2, got '{{/a}}'", "mismatched section");
    expect_error("x {{/a}}", 1, 3, "unexpected '{{/a}}': no section is open", "close without open");
    expect_error("{{=<% =}}", 1, 1, "expected two delimiters", "one delimiter");
    expect_error("{{=<% %> x=}}", 1, 1, "expected two delimiters", "three delimiters");
    expect_error("{{=<% %>=}}\n<%#a%>x<%/b%>", 2, 8, "expected '<%/a%>'", "errors use the current delimiters");
    expect_error("é {{ }}", 1, 3, "expected a name", "an empty tag (columns count characters)");
    expect_error("{{#spin}}a|b", 1, 13, "expected '{{/spin}}'", "unclosed spin");
}

/* Writes text to dir/name. */
static void write_partial(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void partials_dir(void)
{
    const char *dir = tap_tmpdir();
    write_partial(dir, "sig.mustache", "--\n{{sender.name}}\n");
    write_partial(dir, "loop.mustache", "x{{>loop}}");
    write_partial(dir, "broken.mustache", "ok\n{{#a}}");
    write_partial(dir, "frame.mustache", "[{{$b}}default{{/b}}]");
    write_partial(dir, "child.mustache", "{{<frame}}{{$b}}C{{$c}}c{{/c}}{{/b}}{{/frame}}");
    struct template_partials *p;
    tap_is_int(template_partials_new_dir(dir, &p), 0, "a partial set over a folder");
    memset(&opts, 0, sizeof opts);
    opts.partials = p;
    tap_is_str(render("Thanks,\n  {{> sig}}\n{{>nope}}{{>../sig}}.",
                      "{\"sender\":{\"name\":\"Ada\"}}"),
               "Thanks,\n  --\n  Ada\n.", "a standalone partial is indented; unknown names render empty");
    render("{{>loop}}", "{}");
    tap_is_int(last_rc, -ELOOP, "endless partial recursion is stopped");
    /* An override's body belongs to the template that wrote it: a block of
     * the same name inside it shows its own default (this recursed until the
     * stack ran out, found by fuzz_template), and a grandchild's override
     * still reaches a block nested in the child's override. */
    tap_is_str(render("{{<frame}}{{$b}}x{{$b}}inner{{/b}}y{{/b}}{{/frame}}", "{}"), "[xinnery]",
               "a block nested in its own override renders its default once");
    tap_is_str(render("{{<child}}{{$c}}G{{/c}}{{/child}}", "{}"), "[CG]",
               "a grandchild overrides a block inside the child's override");
    tap_is_str(render("{{<child}}{{$b}}G{{/b}}{{/child}}", "{}"), "[G]",
               "the most derived override of a block wins");
    /* Twelve sections nested over a five-item list would visit 5^12 nodes. */
    char deep[512];
    nest(deep, "{{#l}}", 12, "x", "{{/l}}");
    render(deep, "{\"l\":[1,2,3,4,5]}");
    tap_ok(last_rc == -E2BIG && strstr(err.what, "steps") != NULL,
           "a render that multiplies past its budget stops with E2BIG (%s)", err.what);
    tap_is_int(strlen(render("{{#l}}{{#l}}{{#l}}{{.}}{{/l}}{{/l}}{{/l}}", "{\"l\":[1,2,3,4,5]}")), 125,
               "... while three nested over five items render all 125");
    /* Inside 300 {{#o}} (o finds itself again), each missing name's lookup
     * scans 300 frames: 10^4 visits cost 3 million lookups, and count so. */
    char *wide = malloc(8192);
    nest(wide, "{{#o}}", 300, "{{#l}}{{#l}}{{#l}}{{#l}}{{m}}{{/l}}{{/l}}{{/l}}{{/l}}", "{{/o}}");
    render(wide, "{\"o\":{\"x\":1},\"l\":[0,1,2,3,4,5,6,7,8,9]}");
    tap_is_int(last_rc, -E2BIG, "a visit is charged the depth its lookups scan");
    free(wide);
    render("{{>broken}}", "{}");
    tap_is_int(last_rc, -EINVAL, "a partial that does not compile fails the render");
    tap_ok(err.line == 2 && strstr(err.file, "broken.mustache") != NULL,
           "... naming the partial's file and line (%s:%d)", err.file, err.line);
    template_partials_free(p);
}

int main(void)
{
    tap_plan(56);
    fallbacks();
    spintax();
    dates();
    missing_list();
    data_is_data();
    escaping();
    syntax_errors();
    partials_dir();
    template_output_free(&last);
    return tap_done();
}
