"""Pillow reference for PruneLens' image tests (run with Debian's /usr/bin/python3: python3-pil + python3-numpy).

Written from transformers' documented CLIPImageProcessor semantics, using Pillow for everything Pillow does:

  preprocess CONFIG OUTDIR IMAGE...  -> OUTDIR/<i>.npy, float32 [1, 3, H, W] per image
  decode OUTDIR IMAGE...             -> OUTDIR/<i>.npy, uint8 [H, W, 3]: the RGB image the processor starts from
  fixtures OUTDIR                    -> writes edge-case image files, prints their names as JSON

RGB conversion: RGB stays as is; anything else goes to RGBA and is alpha-composited on opaque white, then
alpha is dropped (transformers' alpha-aware convert_to_rgb). One deliberate PruneLens deviation is mirrored
here: 16-bit greyscale (Pillow mode "I"/"I;16") keeps the high byte instead of Pillow's clip to 255.
"""

import json
import math
import struct
import sys
import zlib

try:
    import numpy as np
    from PIL import Image
except ImportError as exc:  # the TS test turns this exit code into a clear failure
    sys.stderr.write(f"pillow_reference.py: {exc}; install Debian's python3-pil python3-numpy\n")
    sys.exit(3)


def to_rgb(im):
    if im.mode == "RGB":
        return im
    if im.mode in ("I", "I;16", "I;16B", "I;16L"):
        im = Image.fromarray((np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8), "L")
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def load(path):
    im = Image.open(path)
    im.seek(0)  # first frame of animations
    im.load()
    return to_rgb(im)


def size_dict(value, int_is_square):
    if isinstance(value, int):
        return {"height": value, "width": value} if int_is_square else {"shortest_edge": value}
    if isinstance(value, (list, tuple)):
        return {"height": value[0], "width": value[1]}
    return value


def resized_hw(width, height, size):
    """(height, width) after resizing, per transformers' shortest-edge rule (long side truncated)."""
    if "shortest_edge" not in size:
        return size["height"], size["width"]
    s = size["shortest_edge"]
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(s * long / short)
    return (new_long, s) if width <= height else (s, new_long)


def center_crop(arr, crop_h, crop_w):
    """HWC uint8 centre crop; zero-pads (image centred, extra row/column after) when the crop is larger."""
    h, w = arr.shape[:2]
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    if top >= 0 and left >= 0 and top + crop_h <= h and left + crop_w <= w:
        return arr[top : top + crop_h, left : left + crop_w]
    new_h, new_w = max(crop_h, h), max(crop_w, w)
    canvas = np.zeros((new_h, new_w) + arr.shape[2:], dtype=arr.dtype)
    pad_top, pad_left = math.ceil((new_h - h) / 2), math.ceil((new_w - w) / 2)
    canvas[pad_top : pad_top + h, pad_left : pad_left + w] = arr
    top, left = top + pad_top, left + pad_left
    return canvas[max(0, top) : min(new_h, top + crop_h), max(0, left) : min(new_w, left + crop_w)]


def preprocess(path, cfg):
    im = load(path)
    if cfg.get("do_resize", True):
        h, w = resized_hw(im.width, im.height, size_dict(cfg.get("size", 224), False))
        im = im.resize((w, h), resample=cfg.get("resample", 3), reducing_gap=None)
    arr = np.asarray(im)
    if cfg.get("do_center_crop", True):
        crop = size_dict(cfg.get("crop_size", 224), True)
        arr = center_crop(arr, crop["height"], crop["width"])
    out = arr
    if cfg.get("do_rescale", True):
        out = (out.astype(np.float64) * cfg.get("rescale_factor", 1 / 255)).astype(np.float32)
    if cfg.get("do_normalize", True):
        out = out.astype(np.float32)
        mean = np.array(cfg["image_mean"], dtype=np.float32)
        std = np.array(cfg["image_std"], dtype=np.float32)
        out = (out - mean) / std
    return np.ascontiguousarray(out.astype(np.float32).transpose(2, 0, 1)[None])


# ---------------------------------------------------------------- edge-case files


def png16(path, arr, colour_type):
    """Hand-written 16-bit PNG (Pillow cannot save 16-bit colour)."""
    h, w = arr.shape[:2]
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def bmp(path, width, height, bits, pixel_rows, header_size=40, compression=0, masks=None, palette=None, top_down=False):
    """Hand-written BMP: pixel_rows are the stored rows (already padded), in file order."""
    extra = b""
    if compression == 3 and header_size == 40:
        extra = struct.pack("<III", *masks[:3])
    pal = b"".join(struct.pack("<BBBB", b, g, r, 0) for (r, g, b) in (palette or []))
    offset = 14 + header_size + len(extra) + len(pal)
    data = b"".join(pixel_rows)
    info = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1, bits, compression, len(data), 2835, 2835, len(palette or []), 0)
    if header_size == 108:
        info += struct.pack("<IIII", *masks) + b"\x00" * (108 - 40 - 16)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + extra + pal + data)


def pad4(row):
    return row + b"\x00" * ((4 - len(row) % 4) % 4)


def fixtures(out):
    rng = np.random.default_rng(7)
    w, h = 37, 29
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    alpha[:4] = 0
    alpha[4:8] = 255
    names = []

    def save(name, im, **kw):
        im.save(f"{out}/{name}", **kw)
        names.append(name)

    save("rgb.png", Image.fromarray(rgb))
    save("rgba.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))
    save("grey.png", Image.fromarray(rgb[:, :, 0], "L"))
    save("grey_alpha.png", Image.fromarray(np.dstack([rgb[:, :, 0], alpha]), "LA"))
    save("bilevel.png", Image.fromarray(rgb[:, :, 0] > 127))
    pal = Image.fromarray(rgb).quantize(16)
    save("palette.png", pal)
    save("palette_transparent.png", pal, transparency=3)
    for name, arr, ctype in (
        ("rgb16.png", rng.integers(0, 65536, (h, w, 3), dtype=np.uint16), 2),
        ("rgba16.png", rng.integers(0, 65536, (h, w, 4), dtype=np.uint16), 6),
        ("grey_alpha16.png", rng.integers(0, 65536, (h, w, 2), dtype=np.uint16), 4),
        ("grey16.png", rng.integers(0, 65536, (h, w), dtype=np.uint16), 0),
    ):
        png16(f"{out}/{name}", arr, ctype)
        names.append(name)
    save("baseline.jpg", Image.fromarray(rgb), quality=90)
    save("progressive.jpg", Image.fromarray(rgb), quality=90, progressive=True)
    save("cmyk.jpg", Image.fromarray(rgb).convert("CMYK"), quality=95)
    save("grey.jpg", Image.fromarray(rgb[:, :, 1], "L"), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° CW to display; must NOT be applied
    save("exif_rotated.jpg", Image.fromarray(rgb), quality=90, exif=exif.tobytes())
    frames = [Image.fromarray(rgb).quantize(32), Image.fromarray(255 - rgb).quantize(32)]
    frames[0].save(f"{out}/animated.gif", save_all=True, append_images=frames[1:], transparency=5, duration=50, loop=0)
    names.append("animated.gif")
    save("lossy.webp", Image.fromarray(rgb), quality=80)
    save("lossless_alpha.webp", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), lossless=True)
    save("rgb24.bmp", Image.fromarray(rgb))
    save("palette8.bmp", pal)
    save("bilevel.bmp", Image.fromarray(rgb[:, :, 0] > 127))
    # Hand-written BMP variants Pillow can read but not write.
    px16 = rng.integers(0, 1 << 16, (h, w), dtype=np.uint16) & 0x7FFF
    bmp(f"{out}/rgb555_topdown.bmp", w, h, 16, [pad4(px16[y].astype("<u2").tobytes()) for y in range(h)], top_down=True)
    px565 = rng.integers(0, 1 << 16, (h, w), dtype=np.uint16)
    bmp(f"{out}/rgb565.bmp", w, h, 16, [pad4(px565[y].astype("<u2").tobytes()) for y in range(h)], compression=3, masks=(0xF800, 0x7E0, 0x1F, 0))
    bgra = np.dstack([rgb[:, :, 2], rgb[:, :, 1], rgb[:, :, 0], alpha])
    bmp(f"{out}/bgra32_v4.bmp", w, h, 32, [bgra[y].tobytes() for y in range(h)], header_size=108, compression=3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000))
    bmp(f"{out}/bgrx32.bmp", w, h, 32, [bgra[y].tobytes() for y in range(h)])
    idx4 = rng.integers(0, 16, (h, w), dtype=np.uint8)
    packed = [pad4(bytes((idx4[y, x] << 4) | (idx4[y, x + 1] if x + 1 < w else 0) for x in range(0, w, 2))) for y in range(h)]
    bmp(f"{out}/palette4.bmp", w, h, 4, packed, palette=[tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(16)])
    names += ["rgb555_topdown.bmp", "rgb565.bmp", "bgra32_v4.bmp", "bgrx32.bmp", "palette4.bmp"]
    print(json.dumps(names))


def main(argv):
    cmd = argv[1]
    if cmd == "preprocess":
        with open(argv[2]) as f:
            cfg = json.load(f)
        for i, path in enumerate(argv[4:]):
            np.save(f"{argv[3]}/{i}.npy", preprocess(path, cfg))
    elif cmd == "decode":
        for i, path in enumerate(argv[3:]):
            np.save(f"{argv[2]}/{i}.npy", np.ascontiguousarray(np.asarray(load(path), dtype=np.uint8)))
    elif cmd == "fixtures":
        fixtures(argv[2])
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
