//! Values parsed once at the edge; holding one means it is valid.

pub mod number;
pub mod password;
pub mod pkce;
pub mod terminal;
pub mod username;

pub use number::{Expect, Number};
pub use password::Password;
pub use pkce::{CodeChallenge, PkceError};
pub use terminal::{TERMINALS, Terminal};
pub use username::Username;
