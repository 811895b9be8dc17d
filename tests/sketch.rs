//! The sketch reads right: checks computed from the pixels of sketches of
//! common ideas (the kinds PartiPrompts and the writer cases ask for):
//! time of day and light, setting, subjects and their counts, relations
//! and framing, text and designs.

use crate::util::{parti_prompts, TempDir, TestCommand};

/// An opaque RGB image.
struct Img {
    w: usize,
    h: usize,
    px: Vec<[u8; 3]>,
}

fn sketch(idea: &str, w: u32, h: u32, seed: u64) -> Img {
    let pm = mural_paint::sketch::render(idea, w, h, seed).unwrap();
    let px = pm
        .data()
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2]]) // opaque: premultiplied == straight
        .collect();
    Img {
        w: w as usize,
        h: h as usize,
        px,
    }
}

fn sq(idea: &str) -> Img {
    sketch(idea, 256, 256, 1)
}

fn decode(path: &std::path::Path) -> Img {
    let d = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let f = r.next_frame(&mut buf).unwrap();
    assert_eq!(f.color_type, png::ColorType::Rgb);
    Img {
        w: f.width as usize,
        h: f.height as usize,
        px: buf[..f.buffer_size()]
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
    }
}

fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

impl Img {
    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.px[y * self.w + x]
    }

    /// Mean color of a region given in fractions of the frame.
    fn mean(&self, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> [f32; 3] {
        let (xa, xb) = ((x0 * self.w as f32) as usize, (x1 * self.w as f32) as usize);
        let (ya, yb) = ((y0 * self.h as f32) as usize, (y1 * self.h as f32) as usize);
        let mut sum = [0f32; 3];
        let mut n = 0f32;
        for y in ya..yb.min(self.h) {
            for x in xa..xb.min(self.w) {
                let p = self.at(x, y);
                for c in 0..3 {
                    sum[c] += p[c] as f32;
                }
                n += 1.0;
            }
        }
        sum.map(|v| v / n.max(1.0))
    }

    /// Share of the pixels in a region that match.
    fn share(&self, (x0, y0, x1, y1): (f32, f32, f32, f32), f: impl Fn([u8; 3]) -> bool) -> f32 {
        let (xa, xb) = ((x0 * self.w as f32) as usize, (x1 * self.w as f32) as usize);
        let (ya, yb) = ((y0 * self.h as f32) as usize, (y1 * self.h as f32) as usize);
        let mut hit = 0usize;
        let mut n = 0usize;
        for y in ya..yb.min(self.h) {
            for x in xa..xb.min(self.w) {
                hit += f(self.at(x, y)) as usize;
                n += 1;
            }
        }
        hit as f32 / n.max(1) as f32
    }

    /// Connected regions (4-neighbour) of matching pixels of at least
    /// `min` pixels: (area, center x, center y, bounding box), as fractions.
    fn blobs(&self, min: usize, f: impl Fn([u8; 3]) -> bool) -> Vec<Blob> {
        let mut seen = vec![false; self.w * self.h];
        let mut out = Vec::new();
        for start in 0..self.w * self.h {
            if seen[start] || !f(self.px[start]) {
                continue;
            }
            seen[start] = true;
            let mut stack = vec![start];
            let (mut n, mut sx, mut sy) = (0usize, 0usize, 0usize);
            let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % self.w, i / self.w);
                n += 1;
                sx += x;
                sy += y;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                let mut push = |j: usize| {
                    if !seen[j] && f(self.px[j]) {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    push(i - 1);
                }
                if x + 1 < self.w {
                    push(i + 1);
                }
                if y > 0 {
                    push(i - self.w);
                }
                if y + 1 < self.h {
                    push(i + self.w);
                }
            }
            if n >= min {
                let (w, h) = (self.w as f32, self.h as f32);
                out.push(Blob {
                    area: n as f32 / (w * h),
                    x: sx as f32 / n as f32 / w,
                    y: sy as f32 / n as f32 / h,
                    bbox: (x0 as f32 / w, y0 as f32 / h, x1 as f32 / w, y1 as f32 / h),
                });
            }
        }
        out
    }

    /// Single bright specks (stars): a bright pixel whose neighbours two
    /// pixels away are all much darker.
    fn specks(&self, y_to: f32) -> usize {
        let mut n = 0;
        for y in 2..((self.h as f32 * y_to) as usize).min(self.h - 2) {
            for x in 2..self.w - 2 {
                let l = luma(self.at(x, y));
                if l > 150.0
                    && [(x - 2, y), (x + 2, y), (x, y - 2), (x, y + 2)]
                        .iter()
                        .all(|&(a, b)| luma(self.at(a, b)) < l - 60.0)
                {
                    n += 1;
                }
            }
        }
        n
    }
}

/// Blobs merged where their boxes touch: the parts of one thing (a
/// sail's two halves, a cup and its saucer) count as one.
fn groups(mut blobs: Vec<Blob>) -> Vec<Blob> {
    let touch = |a: &Blob, b: &Blob| {
        let m = 0.01;
        a.bbox.0 <= b.bbox.2 + m
            && b.bbox.0 <= a.bbox.2 + m
            && a.bbox.1 <= b.bbox.3 + m
            && b.bbox.1 <= a.bbox.3 + m
    };
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..blobs.len() {
            for j in i + 1..blobs.len() {
                if touch(&blobs[i], &blobs[j]) {
                    let (a, b) = (blobs[i], blobs.remove(j));
                    let area = a.area + b.area;
                    blobs[i] = Blob {
                        area,
                        x: (a.x * a.area + b.x * b.area) / area,
                        y: (a.y * a.area + b.y * b.area) / area,
                        bbox: (
                            a.bbox.0.min(b.bbox.0),
                            a.bbox.1.min(b.bbox.1),
                            a.bbox.2.max(b.bbox.2),
                            a.bbox.3.max(b.bbox.3),
                        ),
                    };
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    blobs
}

/// A pixel test.
type Pred<'a> = &'a dyn Fn([u8; 3]) -> bool;

/// A region of the frame, in fractions: (x0, y0, x1, y1).
type Region = (f32, f32, f32, f32);

#[derive(Debug, Clone, Copy)]
struct Blob {
    area: f32,
    x: f32,
    y: f32,
    bbox: (f32, f32, f32, f32),
}

fn red(p: [u8; 3]) -> bool {
    p[0] > 150 && (p[1] as u16) < p[0] as u16 * 55 / 100 && (p[2] as u16) < p[0] as u16 * 55 / 100
}

fn green(p: [u8; 3]) -> bool {
    p[1] > 110 && p[1] as u16 > p[0] as u16 * 13 / 10 && p[1] as u16 > p[2] as u16 * 13 / 10
}

fn blue(p: [u8; 3]) -> bool {
    p[2] > 120 && p[2] as u16 > p[0] as u16 * 15 / 10 && p[2] as u16 > p[1] as u16 * 11 / 10
}

/// A sun disc: bright and warm-white.
fn sunlike(p: [u8; 3]) -> bool {
    p[0] > 235 && p[1] > 185 && luma(p) > 200.0
}

/// A moon disc: bright and pale.
fn moonlike(p: [u8; 3]) -> bool {
    luma(p) > 200.0 && p[2] > 170
}

fn dark(m: [f32; 3]) -> bool {
    0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2] < 70.0
}

/// The largest disc of `f` pixels.
fn disc(img: &Img, f: impl Fn([u8; 3]) -> bool) -> Option<Blob> {
    img.blobs(12, f)
        .into_iter()
        .max_by(|a, b| a.area.total_cmp(&b.area))
}

const UPPER_SKY: (f32, f32, f32, f32) = (0.0, 0.0, 1.0, 0.3);

// ---- time of day, light and weather ----

#[test]
fn a_beach_sunset_shows_the_sun_at_the_horizon_on_every_seed() {
    for seed in 1..=8 {
        let img = sketch("a beach sunset", 320, 320, seed);
        let sun = disc(&img, sunlike).unwrap_or_else(|| panic!("seed {seed}: no sun"));
        assert!(sun.area > 0.005, "seed {seed}: the sun is a disc, {sun:?}");
        assert!(
            (0.35..0.7).contains(&sun.y),
            "seed {seed}: the sun sits low, near the horizon, {sun:?}"
        );
        let sky = img.mean(UPPER_SKY);
        assert!(sky[0] > sky[2] * 0.6, "seed {seed}: a warm sky, {sky:?}");
        let low_sky = img.mean((0.0, 0.35, 1.0, 0.45));
        assert!(
            low_sky[0] > low_sky[2] * 1.3,
            "seed {seed}: warm near the horizon, {low_sky:?}"
        );
    }
}

#[test]
fn a_sunrise_over_mountains_is_warm_with_a_low_sun() {
    let img = sq("sunrise over the mountains");
    let sun = disc(&img, sunlike).expect("a sun");
    assert!(sun.y > 0.3 && sun.y < 0.65, "{sun:?}");
    let low = img.mean((0.0, 0.3, 1.0, 0.42));
    assert!(low[0] > low[2], "warm low sky: {low:?}");
}

#[test]
fn night_is_dark_with_a_moon() {
    for idea in [
        "a snowy village at night",
        "a city street at night",
        "an owl perched on a branch under a crescent moon",
        "a lake under the stars at night",
    ] {
        let img = sq(idea);
        assert!(
            dark(img.mean(UPPER_SKY)),
            "{idea}: a dark sky {:?}",
            img.mean(UPPER_SKY)
        );
        let moon = disc(&img, moonlike).unwrap_or_else(|| panic!("{idea}: no moon"));
        assert!(
            moon.y < 0.45 && moon.area > 0.003,
            "{idea}: a moon high in the sky, {moon:?}"
        );
        assert!(
            disc(&img, |p| sunlike(p) && p[2] < 150).is_none_or(|b| b.area < 0.003),
            "{idea}: no sun"
        );
    }
}

#[test]
fn a_night_city_has_lit_windows() {
    let img = sq("a city street at night");
    let lit = img.share((0.0, 0.2, 1.0, 0.6), |p| {
        p[0] > 200 && p[1] > 150 && p[2] < 140
    });
    assert!(lit > 0.005, "warm windows: {lit}");
}

#[test]
fn midday_has_a_high_sun_in_a_blue_sky() {
    let img = sq("a lake at noon");
    let sun = disc(&img, sunlike).expect("a sun");
    assert!(sun.y < 0.3, "{sun:?}");
    let sky = img.mean(UPPER_SKY);
    assert!(sky[2] > sky[0] * 1.3, "blue sky: {sky:?}");
}

#[test]
fn overcast_rain_and_fog_only_when_the_scene_says_so() {
    for idea in [
        "a meadow on a cloudy day",
        "a forest in the rain",
        "a harbor in thick fog",
    ] {
        let img = sq(idea);
        assert!(
            disc(&img, sunlike).is_none_or(|b| b.area < 0.003),
            "{idea}: no sun"
        );
        let sky = img.mean(UPPER_SKY);
        let spread =
            sky.iter().cloned().fold(0f32, f32::max) - sky.iter().cloned().fold(255f32, f32::min);
        assert!(spread < 60.0, "{idea}: a grey sky {sky:?}");
    }
    // the same places on a fair day keep their sun
    for idea in ["a meadow", "a forest clearing", "a harbor"] {
        assert!(
            disc(&sq(idea), sunlike).is_some(),
            "{idea}: fair weather has a sun"
        );
    }
}

#[test]
fn a_red_car_on_a_highway_has_no_star_field() {
    let img = sq("a red car on a highway");
    assert!(img.specks(0.5) < 5, "no stars: {}", img.specks(0.5));
    let sky = img.mean(UPPER_SKY);
    assert!(sky[2] > sky[0] && !dark(sky), "a day sky: {sky:?}");
    assert!(disc(&img, red).is_some_and(|b| b.area > 0.01), "a red car");
    // the writer's stock phrase no longer means outer space
    let prose = "A red car on a highway, with open space around it, soft clouds drifting overhead";
    let img = sq(prose);
    assert!(img.specks(0.5) < 5, "prose: no stars");
    assert!(!dark(img.mean(UPPER_SKY)), "prose: no space sky");
}

// ---- settings ----

#[test]
fn the_deep_sea_is_dark_blue_with_no_sky_band() {
    let img = sq("an octopus in the deep sea");
    // the water at the frame's edges, top to bottom (the octopus is central)
    for band in 0..5 {
        let y = band as f32 * 0.2;
        let m = img.mean((0.0, y, 0.15, y + 0.2));
        assert!(m[2] > m[0] * 1.5 && m[2] >= m[1], "band {band}: blue {m:?}");
        assert!(dark(m), "band {band}: dark {m:?}");
    }
    assert!(disc(&img, sunlike).is_none(), "no sun under water");
}

#[test]
fn underwater_reefs_fill_the_frame_with_water() {
    for idea in [
        "a coral reef with tropical fish",
        "a turtle swimming underwater",
    ] {
        let img = sq(idea);
        let top = img.mean((0.0, 0.0, 1.0, 0.15));
        assert!(
            top[2] > top[0] * 1.5,
            "{idea}: water at the top, not sky {top:?}"
        );
        assert!(disc(&img, sunlike).is_none(), "{idea}: no sun disc");
    }
}

#[test]
fn outdoor_settings_have_their_ground() {
    let sand = |p: [u8; 3]| p[0] > 170 && p[0] > p[1] && p[1] > p[2] && p[2] < 190;
    let white = |p: [u8; 3]| luma(p) > 200.0 && p[2] > 200;
    let cases: [(&str, Region, Pred, f32); 6] = [
        ("a beach with palm trees", (0.0, 0.85, 1.0, 1.0), &sand, 0.8),
        ("a camel in the desert", (0.0, 0.9, 1.0, 1.0), &sand, 0.6),
        (
            "a penguin on an ice floe",
            (0.0, 0.92, 1.0, 1.0),
            &white,
            0.5,
        ),
        (
            "a snowfield under a blue sky",
            (0.0, 0.8, 1.0, 1.0),
            &white,
            0.8,
        ),
        ("a meadow of wildflowers", (0.0, 0.8, 1.0, 1.0), &green, 0.5),
        ("sailboats on the sea", (0.0, 0.85, 1.0, 1.0), &blue, 0.0),
    ];
    for (idea, region, f, min) in cases {
        let img = sq(idea);
        let got = img.share(region, f);
        assert!(
            got >= min,
            "{idea}: ground {got} < {min}, mean {:?}",
            img.mean(region)
        );
    }
    // the sea is blue water below the horizon
    let sea = sq("sailboats on the sea").mean((0.0, 0.85, 1.0, 1.0));
    assert!(sea[2] > sea[0] * 1.5, "sea: {sea:?}");
    let forest = sq("a deer in a dense forest").mean((0.0, 0.5, 1.0, 0.7));
    assert!(
        forest[1] > forest[0] && forest[1] > forest[2],
        "forest green: {forest:?}"
    );
}

#[test]
fn mountains_rise_above_the_horizon() {
    let img = sq("a valley below snowy mountains");
    // the band just above the horizon is rock, not sky
    let band = img.mean((0.0, 0.45, 1.0, 0.55));
    let sky = img.mean((0.0, 0.0, 1.0, 0.1));
    assert!(
        band[2] < sky[2] - 20.0,
        "peaks darker than sky: {band:?} vs {sky:?}"
    );
}

#[test]
fn space_is_black_with_stars_and_no_ground() {
    let img = sq("an astronaut floating in outer space");
    assert!(dark(img.mean((0.0, 0.0, 1.0, 0.2))) && dark(img.mean((0.0, 0.85, 1.0, 1.0))));
    assert!(img.specks(1.0) > 10, "stars: {}", img.specks(1.0));
}

#[test]
fn a_city_street_has_a_road_and_buildings() {
    let img = sq("a busy city street");
    let road = img.mean((0.4, 0.85, 0.6, 1.0));
    let spread =
        road.iter().cloned().fold(0f32, f32::max) - road.iter().cloned().fold(255f32, f32::min);
    assert!(spread < 40.0, "grey road: {road:?}");
    assert!(
        luma([road[0] as u8, road[1] as u8, road[2] as u8]) < 140.0,
        "asphalt: {road:?}"
    );
}

#[test]
fn indoor_settings_have_walls_not_sky() {
    for idea in [
        "a cozy library",
        "a kitchen with a teapot",
        "a retro diner",
        "a bedroom in the morning",
        "a train station",
        "a photo studio",
    ] {
        let img = sq(idea);
        let top = img.mean((0.0, 0.0, 1.0, 0.08));
        assert!(
            !(top[2] > top[0] * 1.3 && top[2] > 150.0),
            "{idea}: no open sky on top {top:?}"
        );
        assert!(img.specks(0.5) < 5, "{idea}: no stars");
    }
    // a library's wall is shelves of many-colored spines
    let lib = sq("a cozy library");
    let reds = lib.share((0.0, 0.1, 1.0, 0.6), |p| p[0] > 110 && p[1] < 60);
    let blues = lib.share((0.0, 0.1, 1.0, 0.6), |p| p[2] > 90 && p[0] < 60);
    assert!(reds > 0.02 && blues > 0.02, "book spines: {reds} {blues}");
    // a diner's checkered floor
    let diner = sq("a retro diner");
    let black = diner.share((0.0, 0.8, 1.0, 1.0), |p| luma(p) < 60.0);
    let white = diner.share((0.0, 0.8, 1.0, 1.0), |p| luma(p) > 200.0);
    assert!(black > 0.25 && white > 0.25, "checkers: {black} {white}");
    // a train station's platform edge
    let station = sq("a train station");
    assert!(
        station.share((0.0, 0.7, 1.0, 0.85), |p| p[0] > 200
            && p[1] > 170
            && p[2] < 100)
            > 0.01
    );
}

// ---- subjects, counts, colors, relations, framing ----

#[test]
fn three_red_apples_are_three_red_blobs() {
    let img = sq("three red apples on a table");
    let blobs = img.blobs(60, red);
    assert_eq!(blobs.len(), 3, "{blobs:?}");
}

#[test]
fn counts_are_drawn() {
    // (idea, color of each thing, count)
    let yellow = |p: [u8; 3]| p[0] > 200 && p[1] > 160 && p[2] < 90;
    let cases: [(&str, Pred, usize); 5] = [
        ("three sailboats on a lake", &yellow, 3),
        ("five hot air balloons", &red, 5),
        ("two red apples", &red, 2),
        ("four red balloons", &red, 4),
        ("six strawberries", &red, 6),
    ];
    for (idea, f, n) in cases {
        let img = sketch(idea, 384, 256, 1);
        let blobs = groups(img.blobs(25, f));
        assert_eq!(blobs.len(), n, "{idea}: {blobs:?}");
    }
}

#[test]
fn a_named_color_recolors_the_subject() {
    let blue_car = sq("a blue car on a highway");
    let on_road = blue_car.blobs(30, blue);
    assert!(
        on_road.iter().any(|b| b.area > 0.01 && b.y > 0.5),
        "a blue car below the sky: {on_road:?}"
    );
    assert!(
        disc(&blue_car, red).is_none_or(|b| b.area < 0.005),
        "not the icon's red"
    );
    let green_apple = sq("a green apple on a table");
    assert!(disc(&green_apple, green).is_some_and(|b| b.area > 0.01));
    assert!(disc(&green_apple, red).is_none_or(|b| b.area < 0.003));
}

#[test]
fn a_subject_without_an_icon_of_its_own_takes_its_hypernyms() {
    // a heron is a wading bird: drawn as a bird, not as a labelled box
    let heron = sq("a heron standing in a pond");
    let label_grey =
        |p: [u8; 3]| p[0].abs_diff(184) < 6 && p[1].abs_diff(184) < 6 && p[2].abs_diff(191) < 6;
    assert!(heron.share((0.0, 0.0, 1.0, 1.0), label_grey) < 0.01);
    // an unknown word gets a plain labelled shape
    let img = sq("a zorblax on a beach");
    assert!(
        img.share((0.0, 0.0, 1.0, 1.0), label_grey) > 0.01,
        "labelled shape"
    );
}

#[test]
fn relations_place_things() {
    // the cat sits on top of the chair
    let img = sq("a cat sitting on a red chair");
    let chair = disc(&img, red).expect("a red chair");
    let cat = disc(&img, |p| {
        p[0] > 200 && p[1] > 120 && p[1] < 200 && p[2] < 90
    })
    .expect("an orange cat");
    assert!(
        cat.y < chair.y,
        "the cat above the chair: {cat:?} {chair:?}"
    );
    // a cat inside a basket: the cat's center lies within the basket's box
    let img = sq("a red apple inside a basket");
    let apple = disc(&img, red).expect("an apple");
    let basket =
        disc(&img, |p| p[0] > 150 && p[1] > 90 && p[1] < 170 && p[2] < 80).expect("a basket");
    let (x0, y0, x1, y1) = basket.bbox;
    assert!(
        (x0..x1).contains(&apple.x) && (y0..y1).contains(&apple.y),
        "{apple:?} in {basket:?}"
    );
}

#[test]
fn framing_sizes_the_subject() {
    let close = sq("a close-up of a red car");
    let wide = sq("a wide shot of a red car on a highway");
    let (c, w) = (
        disc(&close, red).expect("close").area,
        disc(&wide, red).expect("wide").area,
    );
    assert!(c > 0.08, "a close-up fills the frame: {c}");
    assert!(c > w * 3.0, "close {c} vs wide {w}");
    // a portrait of a person fills the frame with a face
    let img = sq("a portrait of an old fisherman");
    let skin = img.share((0.2, 0.2, 0.8, 0.8), |p| {
        p[0] > 220 && p[1] > 160 && p[2] < 110
    });
    assert!(skin > 0.2, "a face: {skin}");
}

#[test]
fn flying_things_are_in_the_sky() {
    let img = sq("an airplane flying over a meadow");
    let sky_px = img.share((0.0, 0.0, 1.0, 0.5), |p| {
        luma(p) > 200.0 && p[2] > 200 && p[0] > 200
    });
    let plane = img.blobs(40, |p| {
        p[0] > 150 && p[1] > 150 && p[2] > 170 && p[2] < 250 && luma(p) < 235.0
    });
    assert!(sky_px > 0.0 || !plane.is_empty());
    let balloons = sketch("five hot air balloons", 384, 256, 1).blobs(25, red);
    assert!(balloons.iter().all(|b| b.y < 0.6), "aloft: {balloons:?}");
}

// ---- text and designs ----

#[test]
fn a_signs_text_is_drawn_on_it() {
    for (idea, letters) in [
        ("a wooden sign that says \"OPEN\"", 4),
        ("a storefront sign reading \"BAKERY\"", 6),
    ] {
        let img = sq(idea);
        let ink = img.blobs(8, |p| luma(p) < 50.0);
        let letters_found = ink
            .iter()
            .filter(|b| b.area < 0.02 && (0.1..0.9).contains(&b.x))
            .count();
        assert!(
            letters_found >= letters,
            "{idea}: {letters_found} letters, {ink:?}"
        );
    }
    // a poster's title
    let img = sq("a poster with the words \"SAVE THE BEES\"");
    let white_ink = img.share((0.1, 0.06, 0.9, 0.24), |p| luma(p) > 235.0);
    assert!(white_ink > 0.03, "title text: {white_ink}");
}

#[test]
fn a_logo_is_one_mark_on_a_plain_background() {
    for idea in [
        "a coffee shop logo",
        "a minimalist fox logo",
        "an app icon of a rocket",
    ] {
        let img = sq(idea);
        let bg = img.at(0, 0);
        let border_plain = (0..img.w).all(|x| img.at(x, 0) == bg && img.at(x, img.h - 1) == bg)
            && (0..img.h).all(|y| img.at(0, y) == bg && img.at(img.w - 1, y) == bg);
        assert!(border_plain, "{idea}: a plain background");
        let ink = |p: [u8; 3]| {
            p.iter()
                .zip(bg)
                .map(|(a, b)| a.abs_diff(b) as u32)
                .sum::<u32>()
                > 30
        };
        let marks = groups(img.blobs(30, ink));
        let main = marks.iter().cloned().fold(0f32, |a, b| a.max(b.area));
        let rest: f32 = marks.iter().map(|b| b.area).sum::<f32>() - main;
        assert!(main > 0.05, "{idea}: a mark {marks:?}");
        assert!(
            rest < main * 0.15,
            "{idea}: one mark, not several {marks:?}"
        );
        let m = marks.iter().find(|b| b.area == main).unwrap();
        assert!(
            (m.x - 0.5).abs() < 0.08 && (m.y - 0.5).abs() < 0.08,
            "{idea}: centered {m:?}"
        );
    }
}

#[test]
fn an_app_screen_is_a_device_frame_with_ui() {
    let img = sketch("a mobile app screen for a fitness tracker", 320, 320, 1);
    let frame = disc(&img, |p| luma(p) < 40.0).expect("a device frame");
    let (x0, y0, x1, y1) = frame.bbox;
    assert!((y1 - y0) > (x1 - x0) * 1.4, "a phone is tall: {frame:?}");
    let screen = img.share((0.4, 0.5, 0.6, 0.8), |p| luma(p) > 180.0);
    assert!(screen > 0.3, "a light screen: {screen}");
}

// ---- the writer's scene, not its words ----

#[test]
fn imagine_paints_the_ideas_scene_not_the_writers_words() {
    let dir = TempDir::new("sketch-imagine");
    let r = TestCommand::new(&[
        "imagine",
        "a beach sunset",
        "-n",
        "8",
        "--seed",
        "1",
        "--size",
        "256x256",
        "--json",
    ])
    .env("MURAL_HOME", dir.0.join("home"))
    .dir(&dir.0)
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = crate::util::json_lines(&r.stdout);
    assert_eq!(lines.len(), 8);
    for l in &lines {
        let img = decode(&dir.0.join(l["file"].as_str().unwrap()));
        let sun = disc(&img, sunlike).unwrap_or_else(|| panic!("no sun for: {}", l["prompt"]));
        assert!((0.35..0.7).contains(&sun.y), "{sun:?} for {}", l["prompt"]);
        let recipe =
            mural_meta::read(&std::fs::read(dir.0.join(l["file"].as_str().unwrap())).unwrap())
                .unwrap()
                .mural
                .unwrap();
        assert_eq!(recipe["painter_params"]["scene_from"], "idea");
    }
}

#[test]
fn imagine_without_a_size_paints_at_the_writers_aspect() {
    let dir = TempDir::new("sketch-aspect");
    let r = TestCommand::new(&[
        "imagine",
        "a panoramic mountain landscape",
        "--seed",
        "3",
        "--json",
    ])
    .env("MURAL_HOME", dir.0.join("home"))
    .dir(&dir.0)
    .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = &crate::util::json_lines(&r.stdout)[0];
    let img = decode(&dir.0.join(l["file"].as_str().unwrap()));
    assert!(img.w > img.h, "a landscape frame: {}x{}", img.w, img.h);
    assert_eq!(
        (img.w as u64, img.h as u64),
        (l["width"].as_u64().unwrap(), l["height"].as_u64().unwrap())
    );
}

#[test]
fn any_partiprompt_sketches() {
    // every 16th PartiPrompt, at a small size: no panic, an image with content
    for idea in parti_prompts().iter().step_by(16) {
        let img = sketch(idea, 96, 64, 7);
        let first = img.px[0];
        assert!(img.px.iter().any(|p| *p != first), "{idea}: a blank image");
    }
}
