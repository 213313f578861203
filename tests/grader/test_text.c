/* test_text.c: the grader's text rendering and escaping (grader/src/text.c). */
#include "check.h"

#include "grader.h"

/* Renders with render_visible and compares. */
static void expect_visible(const char *text, size_t length, bool newlines,
                           const char *expected) {
  strbuf_t out = {0};
  render_visible(&out, text, length, newlines);
  check_text_equal(expected, out.data ? out.data : "");
  sb_free(&out);
}

static void test_spaces_and_newlines_are_visible(void **state) {
  (void)state;
  expect_visible("Hello world!\n", 13, false,
                 "Hello\xC2\xB7world!\xE2\x8F\x8E");
  expect_visible("a\nb", 3, true, "a\xE2\x8F\x8E\nb");
}

static void test_tabs_and_carriage_returns_are_escaped(void **state) {
  (void)state;
  expect_visible("a\tb\r\n", 5, false, "a\\tb\\r\xE2\x8F\x8E");
  expect_visible("back\\slash", 10, false, "back\\\\slash");
}

static void test_control_bytes_and_bad_utf8_are_escaped(void **state) {
  (void)state;
  expect_visible("\x01z\x7f", 3, false, "\\x01z\\x7F");
  expect_visible("nul\0x", 5, false, "nul\\x00x");
  expect_visible("\xff\xc3(", 3, false, "\\xFF\\xC3(");
  /* Valid UTF-8 passes through untouched. */
  expect_visible("caf\xC3\xA9 \xE2\x82\xAC", 9, false,
                 "caf\xC3\xA9\xC2\xB7\xE2\x82\xAC");
}

static void test_utf8_sequences_are_validated(void **state) {
  (void)state;
  assert_int_equal(utf8_sequence_length((const unsigned char *)"\xC3\xA9", 2),
                   2);
  /* Overlong, surrogate, past U+10FFFF, truncated: all rejected. */
  assert_int_equal(utf8_sequence_length((const unsigned char *)"\xC0\x80", 2),
                   0);
  assert_int_equal(
      utf8_sequence_length((const unsigned char *)"\xED\xA0\x80", 3), 0);
  assert_int_equal(
      utf8_sequence_length((const unsigned char *)"\xF4\x90\x80\x80", 4), 0);
  assert_int_equal(utf8_sequence_length((const unsigned char *)"\xE2\x82", 2),
                   0);
}

static void test_json_escaping_is_always_valid(void **state) {
  (void)state;
  strbuf_t out = {0};
  json_escape(&out, "q\"b\\\n\t\x01\xff\xC3\xA9", 10);
  check_text_equal("q\\\"b\\\\\\n\\t\\u0001\\ufffd\xC3\xA9", out.data);
  sb_free(&out);
  json_string(&out, NULL);
  check_text_equal("null", out.data);
  sb_free(&out);
}

static void test_xml_escaping_drops_what_xml_cannot_hold(void **state) {
  (void)state;
  strbuf_t out = {0};
  xml_escape(&out, "<a href='x'>&\"\n\x02\xEF\xBF\xBF", 19);
  check_text_equal("&lt;a href=&apos;x&apos;&gt;&amp;&quot;&#10;"
                   "\xEF\xBF\xBD\xEF\xBF\xBD",
                   out.data);
  sb_free(&out);
}

static void test_cap_text_cuts_on_a_character_boundary(void **state) {
  (void)state;
  char *capped = cap_text("ab\xC3\xA9xyz", 7, 3);
  check_text_equal("ab\n[... 5 more bytes not shown ...]\n", capped);
  free(capped);
  capped = cap_text("short", 5, 10);
  check_text_equal("short", capped);
  free(capped);
}

static void test_numbers_print_as_people_write_them(void **state) {
  (void)state;
  strbuf_t out = {0};
  put_number(&out, 2);
  sb_putc(&out, ' ');
  put_number(&out, 2.5);
  check_text_equal("2 2.500", out.data);
  sb_free(&out);
}

CHECK_MAIN(cmocka_unit_test(test_spaces_and_newlines_are_visible),
           cmocka_unit_test(test_tabs_and_carriage_returns_are_escaped),
           cmocka_unit_test(test_control_bytes_and_bad_utf8_are_escaped),
           cmocka_unit_test(test_utf8_sequences_are_validated),
           cmocka_unit_test(test_json_escaping_is_always_valid),
           cmocka_unit_test(test_xml_escaping_drops_what_xml_cannot_hold),
           cmocka_unit_test(test_cap_text_cuts_on_a_character_boundary),
           cmocka_unit_test(test_numbers_print_as_people_write_them))
