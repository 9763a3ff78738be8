//! Scenarios declared once and run on each backend.

/// Declares each scenario twice: on SQLite, and on PostgreSQL when it is configured.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn scenario($app: $crate::helpers::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                    scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        scenario(app).await;
                    }
                }
            }
        )*
    };
}

/// Like `both_backends!`, with a custom spawner `async fn(Backend) -> Option<TestApp>`.
#[macro_export]
macro_rules! both_backends_with {
    ($spawn:ident; $(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn scenario($app: $crate::helpers::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = super::$spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                    scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = super::$spawn($crate::helpers::Backend::Postgres).await {
                        scenario(app).await;
                    }
                }
            }
        )*
    };
}
