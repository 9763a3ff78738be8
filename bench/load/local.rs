//! Figures measured in-process: captcha drawing and bcrypt.

use super::*;

pub(crate) fn captcha_render_us(count: usize) -> Value {
    let mut rng = rand::rng();
    let started = Instant::now();
    let bytes: usize = (0..count)
        .map(|_| {
            gatehouse::captcha::render::render_png(&gatehouse::captcha::random_answer(), &mut rng)
                .len()
        })
        .sum();
    let per = started.elapsed().as_secs_f64() * 1e6 / count as f64;
    json!({ "render_us": per, "png_bytes": bytes / count.max(1) })
}

pub(crate) fn bcrypt_verify_ms(cost: u32, rounds: usize) -> Value {
    let hash = bcrypt::hash("Bench-Password-2026", cost).expect("bcrypt hash");
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let ok = bcrypt::verify("Bench-Password-2026", &hash).expect("bcrypt verify");
            assert!(ok);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    json!({ "cost": cost, "verify_ms": times[times.len() / 2] })
}
