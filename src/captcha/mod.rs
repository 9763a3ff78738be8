//! Image captchas: 4 characters, case-insensitive, valid 120 s, consumed by any check.

pub mod render;
pub mod routes;

use std::time::Duration;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TTL: Duration = Duration::from_secs(120);
const LEN: usize = 4;

fn key(id: &str) -> String {
    format!("captcha:{id}")
}

fn digest(answer: &str) -> String {
    hex::encode(Sha256::digest(answer.trim().to_uppercase().as_bytes()))
}

pub fn random_answer() -> String {
    let mut rng = rand::rng();
    (0..LEN)
        .map(|_| render::ALPHABET[rng.random_range(0..render::ALPHABET.len())] as char)
        .collect()
}

/// Stores a new captcha and returns its id and answer.
pub async fn create(state: &AppState) -> ApiResult<(String, String)> {
    let answer = random_answer();
    let id = store(state, &answer).await?;
    Ok((id, answer))
}

async fn store(state: &AppState, answer: &str) -> ApiResult<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    state.store.set(&key(&id), &digest(answer), TTL).await?;
    state.metrics.captcha("issued");
    Ok(id)
}

/// A new captcha drawn as a PNG (in the captcha lane): its id, answer and image.
pub async fn create_image(state: &AppState) -> ApiResult<(String, String, Vec<u8>)> {
    let answer = random_answer();
    let text = answer.clone();
    // Drawn before it is stored: a refused drawing leaves no captcha behind.
    let png = state
        .lanes
        .captcha
        .run(move || render::render_png(&text, &mut rand::rng()))
        .await?;
    let id = store(state, &answer).await?;
    Ok((id, answer, png))
}

/// Checks an answer, consuming the captcha whether or not it was right.
#[tracing::instrument(skip_all)]
pub async fn check(state: &AppState, id: &str, answer: &str) -> ApiResult<()> {
    if id.len() > 64 || id.is_empty() {
        return Err(ApiError::CaptchaInvalid);
    }
    // Taken before the answer is judged: any check, however absurd, uses the captcha up.
    let stored = state.store.take(&key(id)).await?;
    match stored {
        Some(expected)
            if answer.len() <= 64
                && aws_lc_rs::constant_time::verify_slices_are_equal(
                    expected.as_bytes(),
                    digest(answer).as_bytes(),
                )
                .is_ok() =>
        {
            state.metrics.captcha("solved");
            Ok(())
        }
        _ => {
            state.metrics.captcha("failed");
            Err(ApiError::CaptchaInvalid)
        }
    }
}
