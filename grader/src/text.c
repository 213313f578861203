/* text.c: how the grader shows and escapes text a submission printed.
 *
 * Programs under test print anything: stray spaces, CRLF, NULs, bytes that
 * are not UTF-8. People need to see the whitespace, and the JSON, XML and
 * YAML the grader writes must stay valid whatever was printed, so every
 * output goes through one of these functions. */
#include "grader.h"

#include <string.h>

size_t utf8_sequence_length(const unsigned char *text, size_t available) {
  unsigned char lead = text[0];
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF; /* allowed range of the 2nd byte */
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;  /* no overlong forms */
    if (lead == 0xED) high = 0x9F; /* no surrogates */
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F; /* nothing past U+10FFFF */
  } else {
    return 0;
  }
  if (available < length) return 0;
  if (text[1] < low || text[1] > high) return 0;
  for (size_t i = 2; i < length; i++)
    if (text[i] < 0x80 || text[i] > 0xBF) return 0;
  return length;
}

void render_visible(strbuf_t *out, const char *text, size_t length,
                    bool keep_newlines) {
  const unsigned char *bytes = (const unsigned char *)text;
  for (size_t i = 0; i < length;) {
    unsigned char c = bytes[i];
    if (c == ' ') {
      sb_puts(out, "\xC2\xB7"); /* · */
    } else if (c == '\n') {
      sb_puts(out, "\xE2\x8F\x8E"); /* ⏎ */
      if (keep_newlines) sb_putc(out, '\n');
    } else if (c == '\t') {
      sb_puts(out, "\\t");
    } else if (c == '\r') {
      sb_puts(out, "\\r");
    } else if (c == '\\') {
      sb_puts(out, "\\\\"); /* so that "\t" above is never ambiguous */
    } else if (c < 0x20 || c == 0x7F) {
      sb_printf(out, "\\x%02X", c);
    } else if (c < 0x80) {
      sb_putc(out, (char)c);
    } else {
      size_t sequence = utf8_sequence_length(bytes + i, length - i);
      if (sequence == 0) {
        sb_printf(out, "\\x%02X", c);
      } else {
        sb_append(out, text + i, sequence);
        i += sequence;
        continue;
      }
    }
    i++;
  }
}

void json_escape(strbuf_t *out, const char *text, size_t length) {
  const unsigned char *bytes = (const unsigned char *)text;
  for (size_t i = 0; i < length;) {
    unsigned char c = bytes[i];
    if (c == '"' || c == '\\') {
      sb_putc(out, '\\');
      sb_putc(out, (char)c);
    } else if (c == '\n') {
      sb_puts(out, "\\n");
    } else if (c == '\t') {
      sb_puts(out, "\\t");
    } else if (c == '\r') {
      sb_puts(out, "\\r");
    } else if (c < 0x20 || c == 0x7F) {
      sb_printf(out, "\\u%04x", c);
    } else if (c < 0x80) {
      sb_putc(out, (char)c);
    } else {
      size_t sequence = utf8_sequence_length(bytes + i, length - i);
      if (sequence == 0) {
        sb_puts(out, "\\ufffd"); /* not UTF-8: the replacement character */
      } else {
        sb_append(out, text + i, sequence);
        i += sequence;
        continue;
      }
    }
    i++;
  }
}

void json_string(strbuf_t *out, const char *text) {
  if (!text) {
    sb_puts(out, "null");
    return;
  }
  sb_putc(out, '"');
  json_escape(out, text, strlen(text));
  sb_putc(out, '"');
}

void xml_escape(strbuf_t *out, const char *text, size_t length) {
  const unsigned char *bytes = (const unsigned char *)text;
  for (size_t i = 0; i < length;) {
    unsigned char c = bytes[i];
    switch (c) {
    case '<':
      sb_puts(out, "&lt;");
      break;
    case '>':
      sb_puts(out, "&gt;");
      break;
    case '&':
      sb_puts(out, "&amp;");
      break;
    case '"':
      sb_puts(out, "&quot;");
      break;
    case '\'':
      sb_puts(out, "&apos;");
      break;
    case '\n':
      sb_puts(out, "&#10;");
      break; /* survives in attributes */
    case '\t':
      sb_puts(out, "&#9;");
      break;
    case '\r':
      sb_puts(out, "&#13;");
      break;
    default:
      if (c < 0x20 || c == 0x7F) {
        sb_puts(out, "\xEF\xBF\xBD"); /* XML 1.0 has no way to say these */
      } else if (c < 0x80) {
        sb_putc(out, (char)c);
      } else {
        size_t sequence = utf8_sequence_length(bytes + i, length - i);
        /* U+FFFE and U+FFFF are not XML characters either: one U+FFFD
         * for the whole sequence. */
        if (sequence == 3 && c == 0xEF && bytes[i + 1] == 0xBF &&
            bytes[i + 2] >= 0xBE) {
          sb_puts(out, "\xEF\xBF\xBD");
          i += 3;
          continue;
        }
        if (sequence == 0) {
          sb_puts(out, "\xEF\xBF\xBD");
        } else {
          sb_append(out, text + i, sequence);
          i += sequence;
          continue;
        }
      }
    }
    i++;
  }
}

void yaml_block(strbuf_t *out, const char *text, int indent) {
  /* A literal block: each line indented, control bytes made visible so
   * that a TAP consumer's YAML parser never chokes. */
  const char *line = text;
  while (*line) {
    size_t length = strcspn(line, "\n");
    sb_printf(out, "%*s", indent, "");
    strbuf_t visible = {0};
    const unsigned char *bytes = (const unsigned char *)line;
    for (size_t i = 0; i < length;) {
      size_t sequence =
          bytes[i] >= 0x80 ? utf8_sequence_length(bytes + i, length - i) : 1;
      if (sequence == 0 || (bytes[i] < 0x20 && bytes[i] != '\t') ||
          bytes[i] == 0x7F) {
        sb_printf(&visible, "\\x%02X", bytes[i]);
        i++;
      } else {
        sb_append(&visible, line + i, sequence);
        i += sequence;
      }
    }
    if (visible.length) sb_append(out, visible.data, visible.length);
    sb_free(&visible);
    sb_putc(out, '\n');
    line += length;
    if (*line == '\n') line++;
  }
}

char *cap_text(const char *text, size_t length, size_t limit) {
  if (length <= limit) return xstrndup(text, length);
  size_t cut = limit;
  /* Back up to the start of a UTF-8 sequence. */
  while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--;
  strbuf_t sb = {0};
  sb_append(&sb, text, cut);
  sb_printf(&sb, "\n[... %zu more bytes not shown ...]\n", length - cut);
  return sb_take(&sb);
}
