/* png_colours.c: is a screenshot blank? Reads an 8-bit RGB or RGBA PNG
 * (what a browser's screenshot is) and prints its size, how many distinct
 * colours it has and which share of its pixels differ from the most common
 * colour (the background). Exits 0 when the picture has content: at least
 * MIN_COLOURS colours and MIN_PERMILLE per mille of non-background pixels.
 *
 *   png_colours FILE.png */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { MIN_COLOURS = 8, MIN_PERMILLE = 10, TABLE_SIZE = 1 << 20 };

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the PNG row filters in place; rows are 1 + stride bytes. */
static int unfilter(unsigned char *data, uint32_t height, size_t stride,
                    size_t pixel) {
  for (uint32_t y = 0; y < height; y++) {
    unsigned char *row = data + y * (stride + 1);
    unsigned char *line = row + 1;
    const unsigned char *up = y > 0 ? line - (stride + 1) : NULL;
    for (size_t x = 0; x < stride; x++) {
      int a = x >= pixel ? line[x - pixel] : 0;
      int b = up != NULL ? up[x] : 0;
      int c = up != NULL && x >= pixel ? up[x - pixel] : 0;
      switch (row[0]) {
      case 0:
        break;
      case 1:
        line[x] = (unsigned char)(line[x] + a);
        break;
      case 2:
        line[x] = (unsigned char)(line[x] + b);
        break;
      case 3:
        line[x] = (unsigned char)(line[x] + (a + b) / 2);
        break;
      case 4:
        line[x] = (unsigned char)(line[x] + paeth(a, b, c));
        break;
      default:
        return -1;
      }
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: png_colours FILE.png\n");
    return 2;
  }
  FILE *file = fopen(argv[1], "rb");
  if (file == NULL) {
    perror(argv[1]);
    return 2;
  }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  rewind(file);
  unsigned char *png = malloc((size_t)size);
  if (png == NULL || fread(png, 1, (size_t)size, file) != (size_t)size ||
      size < 33 || memcmp(png, "\x89PNG\r\n\x1a\n", 8) != 0) {
    fprintf(stderr, "%s: not a PNG file\n", argv[1]);
    return 2;
  }
  fclose(file);

  uint32_t width = be32(png + 16), height = be32(png + 20);
  int depth = png[24], type = png[25], interlace = png[28];
  size_t pixel = type == 6 ? 4 : type == 2 ? 3 : 0;
  if (depth != 8 || pixel == 0 || interlace != 0) {
    fprintf(stderr, "%s: only 8-bit RGB or RGBA, not interlaced\n", argv[1]);
    return 2;
  }
  /* The image data is the concatenation of every IDAT chunk. */
  unsigned char *compressed = malloc((size_t)size);
  size_t compressed_size = 0;
  for (long at = 8; at + 12 <= size;) {
    uint32_t length = be32(png + at);
    if (at + 12 + (long)length > size) break;
    if (memcmp(png + at + 4, "IDAT", 4) == 0) {
      memcpy(compressed + compressed_size, png + at + 8, length);
      compressed_size += length;
    }
    at += 12 + (long)length;
  }
  size_t stride = width * pixel;
  uLongf raw_size = (uLongf)((stride + 1) * height);
  unsigned char *raw = malloc(raw_size);
  if (raw == NULL ||
      uncompress(raw, &raw_size, compressed, compressed_size) != Z_OK ||
      raw_size != (stride + 1) * height ||
      unfilter(raw, height, stride, pixel) != 0) {
    fprintf(stderr, "%s: cannot decode the image data\n", argv[1]);
    return 2;
  }

  /* Distinct colours, counted in an open-addressing table of RGB values. */
  uint32_t *colours = calloc(TABLE_SIZE, sizeof *colours);
  uint64_t *counts = calloc(TABLE_SIZE, sizeof *counts);
  size_t distinct = 0;
  for (uint32_t y = 0; y < height; y++) {
    const unsigned char *line = raw + y * (stride + 1) + 1;
    for (uint32_t x = 0; x < width; x++) {
      const unsigned char *p = line + x * pixel;
      uint32_t key = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
      key |= 1u << 24; /* 0 marks a free slot */
      size_t slot = (key * 2654435761u) & (TABLE_SIZE - 1);
      while (colours[slot] != 0 && colours[slot] != key)
        slot = (slot + 1) & (TABLE_SIZE - 1);
      if (colours[slot] == 0 && distinct < TABLE_SIZE / 2) {
        colours[slot] = key;
        distinct++;
      }
      if (colours[slot] == key) counts[slot]++;
    }
  }
  uint64_t background = 0, total = (uint64_t)width * height;
  for (size_t slot = 0; slot < TABLE_SIZE; slot++)
    if (counts[slot] > background) background = counts[slot];
  unsigned permille =
      total == 0 ? 0 : (unsigned)((total - background) * 1000 / total);
  printf("%ux%u, colours: %zu, not background: %u.%u%% of the pixels\n", width,
         height, distinct, permille / 10, permille % 10);
  free(png);
  free(compressed);
  free(raw);
  free(colours);
  free(counts);
  return distinct >= MIN_COLOURS && permille >= MIN_PERMILLE ? 0 : 1;
}
