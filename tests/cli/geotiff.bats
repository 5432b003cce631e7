#!/usr/bin/env bats
# GeoTIFF: the georeferencing of a pooled image stays true (each output pixel stands for a
# cell of the stride centred on its window: GDAL's geotransform grows by the stride and
# moves with the padding), or is dropped with a warning; never kept wrong. GDAL (Debian's
# python3-gdal) makes the inputs and reads the outputs: an independent reader.

load helpers

need_tiff() {
    "$POOL" --version | grep -q 'tiff (libtiff)' || skip "built without TIFF (configure --without-tiff)"
}

# geotiff FILE GEOTRANSFORM [CREATION-METADATA]: a 100x80 u16 GeoTIFF in UTM 33N.
geotiff() {
    "$PY" - "$@" <<'PY'
import sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
path, gt = sys.argv[1], eval(sys.argv[2])
ds = gdal.GetDriverByName("GTiff").Create(path, 100, 80, 1, gdal.GDT_UInt16)
ds.SetGeoTransform(gt)
srs = osr.SpatialReference()
srs.ImportFromEPSG(32633)
ds.SetProjection(srs.ExportToWkt())
if len(sys.argv) > 3:
    ds.SetMetadataItem("AREA_OR_POINT", sys.argv[3])
# a smooth ramp with a little texture: pooling it loses no detail worth a warning
r, c = np.mgrid[0:80, 0:100]
a = (r * 300 + c * 200 + (r * c) % 7).astype(np.uint16)
ds.GetRasterBand(1).WriteArray(a)
ds = None
PY
}

# georef_is FILE GEOTRANSFORM: GDAL reads this geotransform and the input's projection.
georef_is() {
    "$PY" - "$@" <<'PY'
import sys
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1])
want = eval(sys.argv[2])
got = ds.GetGeoTransform()
assert all(abs(g - w) < 1e-6 for g, w in zip(got, want)), (got, want)
assert "32633" in ds.GetProjection() or "UTM zone 33N" in ds.GetProjection(), ds.GetProjection()
PY
}

@test "GeoTIFF avg 2x2: the pixel size doubles, the corner stays; values equal NumPy's" {
    need_tiff
    geotiff in.tif '(500000, 30, 0, 4000000, 0, -30)'
    run "$POOL" -m avg -k 2 in.tif -o out.tif
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    georef_is out.tif '(500000, 60, 0, 4000000, 0, -60)'
    "$PY" - <<'PY'
import numpy as np
from osgeo import gdal
a = gdal.Open("in.tif").ReadAsArray().astype(np.int64)
got = gdal.Open("out.tif").ReadAsArray()
want = (a.reshape(40, 2, 50, 2).sum(axis=(1, 3)) * 2 + 4) // 8   # half up
assert got.dtype == np.uint16 and (got == want).all()
PY
}

@test "GeoTIFF max 3/2/1 then 2x2: the corner moves by the padding less half the window's excess" {
    need_tiff
    geotiff in.tif '(500000, 30, 0, 4000000, 0, -30)'
    # pass 1: cell corner -1 + (3 - 2) / 2 = -0.5 input pixels, stride 2; pass 2 keeps it
    run "$POOL" -P max:3,s=2,p=1 -P avg:2 in.tif -o out.tif
    [ "$status" -eq 0 ]
    georef_is out.tif '(500000 - 15, 120, 0, 4000000 + 15, 0, -120)'
}

@test "GeoTIFF PixelIsPoint: GDAL's corner-based geotransform follows the same cells" {
    need_tiff
    geotiff in.tif '(500000, 30, 0, 4000000, 0, -30)' Point
    run "$POOL" -m max -k 2 in.tif -o out.tif
    [ "$status" -eq 0 ]
    georef_is out.tif '(500000, 60, 0, 4000000, 0, -60)'
    "$PY" -c '
from osgeo import gdal
assert gdal.Open("out.tif").GetMetadataItem("AREA_OR_POINT") == "Point"'
}

@test "GeoTIFF rotated (a ModelTransformation): the matrix follows the cells" {
    need_tiff
    geotiff in.tif '(1000, 3, 1, 2000, 1, -3)'
    run "$POOL" -P avg:3,s=2,p=1 in.tif -o out.tif
    [ "$status" -eq 0 ]
    # input pixel position -0.5 on both axes is output (0, 0); each output step is 2 input
    georef_is out.tif '(1000 - 0.5 * 3 - 0.5 * 1, 6, 2, 2000 - 0.5 * 1 + 0.5 * 3, 2, -6)'
}

@test "GeoTIFF pooled to a size that does not divide: georeferencing dropped, with a warning" {
    need_tiff
    geotiff in.tif '(500000, 30, 0, 4000000, 0, -30)'
    run "$POOL" -m avg --output-size 7 in.tif -o out.tif
    [ "$status" -eq 0 ]
    [ "$output" = "pool: in.tif: warning: GeoTIFF georeferencing dropped: the output's pixels do not lie on a regular grid of the input's (an adaptive size that does not divide it)" ]
    "$PY" -c '
from osgeo import gdal
ds = gdal.Open("out.tif")
assert ds.RasterXSize == 7 and ds.GetGeoTransform(can_return_null=True) is None, ds.GetGeoTransform()'
    # a size that divides keeps it: 100x80 to 20x16 is 5x5 cells
    run "$POOL" -m avg --output-size 16x20 in.tif -o even.tif
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    georef_is even.tif '(500000, 150, 0, 4000000, 0, -150)'
}

@test "GeoTIFF to PNG or .npy: the pixels only, no warning" {
    need_tiff
    geotiff in.tif '(500000, 30, 0, 4000000, 0, -30)'
    run "$POOL" -m max -k 2 in.tif -o out.png
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}
