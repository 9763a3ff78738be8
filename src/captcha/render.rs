//! Captcha image rendering: turns a short challenge text into a noisy,
//! distorted PNG that a person can read but a naive OCR pass cannot.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, OutlineCurve, Point, PxScale, ScaleFont, point};
use ab_glyph_rasterizer::Rasterizer;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Rgb, RgbImage};
use imageproc::drawing::{draw_cubic_bezier_curve_mut, draw_line_segment_mut};
use rand::Rng;

/// Alphabet without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B etc.), upper-case.
///
/// Also left out: D and Q (read as O once rotated or crossed by a line), J
/// (DejaVu's J has no top bar, so tilted it reads as I or a bracket) and U/V
/// (read as each other once distorted).
pub const ALPHABET: &[u8] = b"ACEFGHKMNPRTWXY34679";

const WIDTH: u32 = 160;
const HEIGHT: u32 = 60;
const MARGIN: f32 = 10.0;
/// Beyond this many characters the glyphs would be too small to read, and
/// capping bounds the work an arbitrary input can cause.
const MAX_CHARS: usize = 8;
/// Square area a glyph is rasterised into, centred on its slot; big enough that
/// the widest glyph at the largest size survives any rotation uncropped.
const TILE: u32 = 64;

static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf"))
        .expect("bundled DejaVu Sans Bold must parse")
});

/// Draws `text` (4 upper-case chars from ALPHABET) as a PNG, 160x60 px, with noise and distortion.
///
/// Never panics: characters the font lacks are skipped, anything past
/// eight characters is ignored, and an encoder failure yields an empty Vec.
pub fn render_png(text: &str, rng: &mut impl Rng) -> Vec<u8> {
    let mut canvas = background(rng);
    draw_text(&mut canvas, text, rng);
    draw_strikes(&mut canvas, rng);
    let mut canvas = wave(&canvas, rng);
    // Speckles go on after the wave so they stay sharp single pixels, which
    // breaks the smooth strokes a binarising OCR step relies on.
    sprinkle_dots(&mut canvas, 140, 40..=230, rng);
    encode(&canvas)
}

fn background(rng: &mut impl Rng) -> RgbImage {
    let base = Rgb([
        rng.random_range(228..=255),
        rng.random_range(228..=255),
        rng.random_range(228..=255),
    ]);
    let mut canvas = RgbImage::from_pixel(WIDTH, HEIGHT, base);
    sprinkle_dots(&mut canvas, 260, 120..=235, rng);
    canvas
}

fn sprinkle_dots(
    canvas: &mut RgbImage,
    count: usize,
    shade: std::ops::RangeInclusive<u8>,
    rng: &mut impl Rng,
) {
    for _ in 0..count {
        let x = rng.random_range(0..WIDTH);
        let y = rng.random_range(0..HEIGHT);
        let colour = random_colour(shade.clone(), rng);
        canvas.put_pixel(x, y, colour);
    }
}

fn random_colour(shade: std::ops::RangeInclusive<u8>, rng: &mut impl Rng) -> Rgb<u8> {
    Rgb([
        rng.random_range(shade.clone()),
        rng.random_range(shade.clone()),
        rng.random_range(shade),
    ])
}

fn draw_text(canvas: &mut RgbImage, text: &str, rng: &mut impl Rng) {
    let chars: Vec<char> = text.chars().take(MAX_CHARS).collect();
    if chars.is_empty() {
        return;
    }
    let slot = (WIDTH as f32 - 2.0 * MARGIN) / chars.len() as f32;
    // Shrink with longer input so glyphs keep to their slot instead of
    // overrunning the canvas; four characters get the full size.
    let shrink = (slot / 35.0).min(1.0);
    for (i, &c) in chars.iter().enumerate() {
        let size = rng.random_range(32.0..42.0) * shrink;
        let theta = rng.random_range(-0.3..0.3);
        let cx = MARGIN + slot * (i as f32 + 0.5) + rng.random_range(-3.0..3.0);
        let cy = HEIGHT as f32 / 2.0 + rng.random_range(-4.0..4.0);
        let colour = random_colour(0..=110, rng);
        draw_glyph(canvas, c, size, theta, (cx, cy), colour);
    }
}

/// Rasterises `c` already rotated by `theta` about its centre, which lands on `centre`:
/// the outline's points are turned before rasterising, so the glyph stays as sharp as an
/// upright one and no resampling pass is needed. Coverage is blended straight into the canvas.
fn draw_glyph(
    canvas: &mut RgbImage,
    c: char,
    size: f32,
    theta: f32,
    centre: (f32, f32),
    colour: Rgb<u8>,
) {
    let font = &*FONT;
    let id = font.glyph_id(c);
    // Glyph 0 is .notdef, an empty box that would only confuse the reader.
    if id.0 == 0 {
        return;
    }
    let Some(outline) = font.outline(id) else {
        return;
    };
    let scaled = font.as_scaled(PxScale::from(size));
    let (hx, vy) = (scaled.h_scale_factor(), scaled.v_scale_factor());
    let b = outline.bounds;
    let (mid_x, mid_y) = ((b.min.x + b.max.x) / 2.0, (b.min.y + b.max.y) / 2.0);
    let (sin, cos) = theta.sin_cos();
    let half = TILE as f32 / 2.0;
    // Font units (y up) to tile pixels (y down), turned about the glyph's centre. A glyph
    // wider than the tile (some non-Latin ones are) is cropped by the rasteriser's bounds.
    let place = |p: &Point| {
        let (x, y) = ((p.x - mid_x) * hx, (mid_y - p.y) * vy);
        point(half + x * cos - y * sin, half + x * sin + y * cos)
    };
    let mut raster = Rasterizer::new(TILE as usize, TILE as usize);
    for curve in &outline.curves {
        match curve {
            OutlineCurve::Line(p0, p1) => raster.draw_line(place(p0), place(p1)),
            OutlineCurve::Quad(p0, p1, p2) => raster.draw_quad(place(p0), place(p1), place(p2)),
            OutlineCurve::Cubic(p0, p1, p2, p3) => {
                raster.draw_cubic(place(p0), place(p1), place(p2), place(p3))
            }
        }
    }
    let ox = centre.0 as i32 - TILE as i32 / 2;
    let oy = centre.1 as i32 - TILE as i32 / 2;
    raster.for_each_pixel_2d(|tx, ty, coverage| {
        let alpha = (coverage.clamp(0.0, 1.0) * 255.0) as u8;
        let (x, y) = (ox + tx as i32, oy + ty as i32);
        if alpha == 0 || x < 0 || y < 0 || x >= WIDTH as i32 || y >= HEIGHT as i32 {
            return;
        }
        let pixel = canvas.get_pixel_mut(x as u32, y as u32);
        for (dst, src) in pixel.0.iter_mut().zip(colour.0) {
            *dst = mix(*dst, src, alpha);
        }
    });
}

/// Integer lerp from `a` to `b` by `t`/255.
fn mix(a: u8, b: u8, t: u8) -> u8 {
    let (a, b, t) = (u32::from(a), u32::from(b), u32::from(t));
    ((a * (255 - t) + b * t + 127) / 255) as u8
}

/// Lines through the text in ink colours, so they cannot be removed by
/// colour or thickness without eating into the glyphs too.
fn draw_strikes(canvas: &mut RgbImage, rng: &mut impl Rng) {
    let h = HEIGHT as f32;
    // One bold and one hairline curve: two bold ones through the middle band
    // hide too much of the glyphs from people as well as from OCR.
    for thickness in [2, 1] {
        let start = (0.0, rng.random_range(0.2 * h..0.8 * h));
        let end = (WIDTH as f32, rng.random_range(0.2 * h..0.8 * h));
        let c1 = (rng.random_range(20.0..70.0), rng.random_range(0.0..h));
        let c2 = (rng.random_range(90.0..140.0), rng.random_range(0.0..h));
        let colour = random_colour(0..=110, rng);
        for dy in 0..thickness {
            let shift = |p: (f32, f32)| (p.0, p.1 + dy as f32);
            draw_cubic_bezier_curve_mut(
                canvas,
                shift(start),
                shift(end),
                shift(c1),
                shift(c2),
                colour,
            );
        }
    }
    let start = (rng.random_range(0.0..40.0), rng.random_range(0.0..h));
    let end = (
        rng.random_range(120.0..WIDTH as f32),
        rng.random_range(0.0..h),
    );
    draw_line_segment_mut(canvas, start, end, random_colour(0..=110, rng));
}

/// Sine displacement: each row shifts sideways and each column up or down,
/// sampled bilinearly in 8.8 fixed point so the whole pass stays integer.
fn wave(src: &RgbImage, rng: &mut impl Rng) -> RgbImage {
    let dx = sine_table(
        HEIGHT,
        rng.random_range(1.5..3.0),
        rng.random_range(25.0..45.0),
        rng,
    );
    let dy = sine_table(
        WIDTH,
        rng.random_range(3.0..5.5),
        rng.random_range(70.0..130.0),
        rng,
    );
    let raw = src.as_raw();
    let mut out = RgbImage::new(WIDTH, HEIGHT);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let sx = x as i32 * 256 + dx[y as usize];
        let sy = y as i32 * 256 + dy[x as usize];
        *pixel = Rgb(sample(raw, sx, sy));
    }
    out
}

/// Displacements, in 1/256 px, of a sine wave with random phase.
fn sine_table(len: u32, amplitude: f32, period: f32, rng: &mut impl Rng) -> Vec<i32> {
    let phase = rng.random_range(0.0..std::f32::consts::TAU);
    (0..len)
        .map(|i| {
            let angle = std::f32::consts::TAU * i as f32 / period + phase;
            (amplitude * angle.sin() * 256.0) as i32
        })
        .collect()
}

/// Bilinear sample at 8.8 fixed-point coordinates, clamped to the edges, from the raw
/// RGB bytes of a WIDTH x HEIGHT image (indexing the buffer directly: this runs per pixel).
fn sample(raw: &[u8], sx: i32, sy: i32) -> [u8; 3] {
    let sx = sx.clamp(0, (WIDTH as i32 - 1) * 256);
    let sy = sy.clamp(0, (HEIGHT as i32 - 1) * 256);
    let (x0, y0) = ((sx >> 8) as usize, (sy >> 8) as usize);
    let (fx, fy) = ((sx & 255) as u32, (sy & 255) as u32);
    let (x1, y1) = (
        (x0 + 1).min(WIDTH as usize - 1),
        (y0 + 1).min(HEIGHT as usize - 1),
    );
    let at = |x: usize, y: usize| (y * WIDTH as usize + x) * 3;
    let corners = [
        (at(x0, y0), (256 - fx) * (256 - fy)),
        (at(x1, y0), fx * (256 - fy)),
        (at(x0, y1), (256 - fx) * fy),
        (at(x1, y1), fx * fy),
    ];
    let mut acc = [0u32; 3];
    for (i, weight) in corners {
        for (c, sum) in acc.iter_mut().enumerate() {
            *sum += u32::from(raw[i + c]) * weight;
        }
    }
    // Weights sum to 65536, so the shift brings each channel back to 0..=255.
    acc.map(|sum| ((sum + 32768) >> 16) as u8)
}

fn encode(canvas: &RgbImage) -> Vec<u8> {
    let mut png = Vec::with_capacity(16 * 1024);
    let encoder =
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive);
    match encoder.write_image(
        canvas.as_raw(),
        WIDTH,
        HEIGHT,
        image::ExtendedColorType::Rgb8,
    ) {
        Ok(()) => png,
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    #[test]
    fn output_is_a_160x60_png() {
        let png = render_png("AC7K", &mut StdRng::seed_from_u64(1));
        assert!(png.starts_with(PNG_SIGNATURE));
        let decoded = image::load_from_memory(&png).expect("valid PNG");
        assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
    }

    #[test]
    fn renders_of_the_same_text_differ() {
        let mut rng = rand::rng();
        assert_ne!(render_png("HMX4", &mut rng), render_png("HMX4", &mut rng));
    }

    #[test]
    fn same_seed_gives_same_image() {
        let a = render_png("HMX4", &mut StdRng::seed_from_u64(7));
        let b = render_png("HMX4", &mut StdRng::seed_from_u64(7));
        assert_eq!(a, b);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let long = "W".repeat(10_000);
        let inputs = [
            "",
            " ",
            "a",
            "WWWW",
            "\0\u{7f}\n\t",
            "ñß漢字🙂",
            "\u{202e}RTL",
            "\u{fdfd}\u{2e3b}\u{a9c5}e\u{301}\u{ffff}",
            &long,
        ];
        let mut rng = StdRng::seed_from_u64(3);
        for text in inputs {
            let png = render_png(text, &mut rng);
            let decoded = image::load_from_memory(&png).expect("valid PNG");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (WIDTH, HEIGHT),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_alphabet_char_has_a_glyph() {
        for &c in ALPHABET {
            assert_ne!(FONT.glyph_id(char::from(c)).0, 0, "{}", char::from(c));
        }
    }

    #[test]
    fn alphabet_has_no_look_alikes() {
        assert!(ALPHABET.len() >= 20);
        for c in b"0O1IL2Z5S8BUVJDQ" {
            assert!(!ALPHABET.contains(c), "{}", char::from(*c));
        }
        assert!(
            ALPHABET
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len(), "duplicate characters");
    }
}
