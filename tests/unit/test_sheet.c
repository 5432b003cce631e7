/* Unit tests of the contact sheet: its crop geometry, its caption's figures, and text cut
 * to its panel. (Its pixels are checked against NumPy in tests/cli/views.bats.) */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "cli/sheet.h"

static void test_crop_parse(void)
{
    struct sheet_crop c;
    struct pool_error err;
    CHECK(sheet_crop_parse("300x200+400+7", &c, &err) == 0 && c.given);
    CHECK(c.width == 300 && c.height == 200 && c.x == 400 && c.y == 7);
    CHECK(sheet_crop_parse("7x5", &c, &err) == 0 && c.width == 7 && c.height == 5 && c.x == 0 &&
          c.y == 0 && !strcmp(c.text, "7x5"));
    CHECK(sheet_crop_parse("1x1+0+0", &c, &err) == 0);
    const char *bad[] = {"",
                         "x",
                         "7",
                         "7x",
                         "x5",
                         "0x5",
                         "7x0",
                         "7x5+",
                         "7x5+1",
                         "7x5+1+",
                         "7x5+-1+1",
                         "7x5-1-1",
                         "7X5",
                         " 7x5",
                         "7x5 ",
                         "7x5+1+1+1",
                         "99999999999999999999x5",
                         "1099511627777x5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sheet_crop_parse(bad[i], &c, &err);
        CHECK(rc == -1 && !c.given);
        if (rc == 0)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
    }
}

static void test_crop_check(void)
{
    struct sheet_crop c;
    struct pool_error err;
    CHECK(sheet_crop_parse("300x200+212+312", &c, &err) == 0);
    CHECK(sheet_crop_check(&c, 512, 512, &err) == 0); /* up to the last row and column */
    CHECK(sheet_crop_check(&c, 511, 512, &err) == -1);
    CHECK(!strcmp(err.msg, "--sheet-crop 300x200+212+312 reaches past the 511x512 image "
                           "(width x height)"));
    CHECK(sheet_crop_check(&c, 512, 511, &err) == -1);
}

static void test_size_line(void)
{
    char line[64];
    sheet_size_line(line, sizeof line, "756x504", NAN);
    CHECK(!strcmp(line, "756x504"));
    sheet_size_line(line, sizeof line, "756x504", 23.94);
    CHECK(!strcmp(line, "756x504  23.9 dB"));
    sheet_size_line(line, sizeof line, "756x504", INFINITY);
    CHECK(!strcmp(line, "756x504  inf dB"));
}

/* Black pixels in a sheet's columns [x0, x1) below its panels. */
static size_t ink(const struct contact_sheet *s, size_t panel_height, size_t x0, size_t x1)
{
    size_t n = 0;
    for (size_t y = panel_height; y < sheet_height(s); y++)
        for (size_t x = x0; x < x1; x++)
            n += ((const uint8_t *)sheet_row(s, y))[x] == 0;
    return n;
}

static struct contact_sheet *two_panels(void)
{
    struct row_geom g = {
        .dtype = DT_U8, .planes = 1, .nspatial = 2, .size = {1, 6, 120}, .inner = 1};
    struct row_geom panels[2] = {g, g};
    struct sheet_layout layout = {0};
    struct contact_sheet *s;
    struct pool_error err;
    if (sheet_create(&s, panels, 2, false, &layout, &err))
        return NULL;
    uint8_t row[120];
    memset(row, 200, sizeof row);
    for (size_t y = 0; y < 6; y++) {
        sheet_add_row(s, 0, row);
        sheet_add_row(s, 1, row);
    }
    return s;
}

static void test_captions(void)
{
    struct contact_sheet *s = two_panels(), *t = two_panels();
    CHECK(s && t);
    if (!s || !t)
        return;
    /* 120 wide, 6 high: scale 1, a gap of 2, two lines of captions in 22 rows */
    CHECK_EQ_INT(sheet_width(s), 242);
    CHECK_EQ_INT(sheet_height(s), 28);
    CHECK(((const uint8_t *)sheet_row(s, 5))[119] == 200);
    CHECK(((const uint8_t *)sheet_row(s, 5))[121] == 128);
    sheet_caption(s, 0, "1 avg:2,s=2 is cut at the panel's edge", "12x34");
    sheet_caption(t, 0, "1 avg:2,s=2 is cut at the panel's edge", "12x34  23.9 dB");
    CHECK(ink(s, 6, 0, 120) > 0);
    CHECK(ink(s, 6, 120, 242) == 0); /* cut: nothing past panel 0, nor under panel 1 */
    CHECK(ink(t, 6, 0, 120) > ink(s, 6, 0, 120));
    sheet_free(s);
    sheet_free(t);
}

int main(void)
{
    RUN(test_crop_parse());
    RUN(test_crop_check());
    RUN(test_size_line());
    RUN(test_captions());
    return check_summary();
}
