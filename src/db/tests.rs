//! The connections and threads `Db` runs calls on, on SQLite.

use super::*;
use std::sync::mpsc;

fn sqlite(readers: u32) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = DatabaseUrl::Sqlite(dir.path().join("t.db"));
    let db = Db::connect(&url, Some(readers)).expect("an SQLite database");
    (dir, db)
}

fn select_one(conn: &mut DbConnection) -> ApiResult<()> {
    conn.batch_execute("SELECT 1")
        .map_err(|e| ApiError::Internal(e.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_completes_while_the_writer_is_held() {
    let (_dir, db) = sqlite(2);
    let (read_done, wait_for_read) = mpsc::channel::<()>();
    let writer = db.clone();
    // The write ends only once the read has: a read queued behind the writer would never
    // come, and the write would give up after 10 s.
    let write = tokio::spawn(async move {
        writer
            .run(move |_| {
                wait_for_read
                    .recv_timeout(Duration::from_secs(10))
                    .map_err(|_| ApiError::Internal("the read never came".into()))
            })
            .await
    });
    db.read(select_one).await.expect("a read beside the writer");
    read_done.send(()).expect("the writer waits");
    write.await.expect("the write task").expect("the write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_beyond_the_reader_connections_wait_for_one_and_none_is_refused() {
    // Twice as many reads as are admitted at once, each holding its connection a while:
    // some wait for a permit, some for a connection on their thread.
    let (_dir, db) = sqlite(2);
    let reads: Vec<_> = (0..2 * 2 * READER_THREADS_PER_CONNECTION)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.read(|conn| {
                    std::thread::sleep(Duration::from_millis(5));
                    select_one(conn)
                })
                .await
            })
        })
        .collect();
    for read in reads {
        read.await.expect("a read task").expect("no read refused");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn sqlite_writes_run_below_normal_priority_and_reads_do_not() {
    let (_dir, db) = sqlite(1);
    // SAFETY: reads the calling thread's own nice value.
    let nice = |_: &mut DbConnection| -> ApiResult<i32> {
        Ok(unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) })
    };
    assert_eq!(
        db.run(nice).await.expect("a write call"),
        writer::WRITER_NICE
    );
    assert_eq!(db.read(nice).await.expect("a read call"), 0);
}

#[tokio::test]
async fn a_write_that_panics_is_an_error_and_the_next_write_still_runs() {
    let (_dir, db) = sqlite(1);
    let panicked = db
        .run(|_| -> ApiResult<()> { panic!("a bug in one write") })
        .await;
    assert!(
        matches!(panicked, Err(ApiError::Internal(_))),
        "{panicked:?}"
    );
    db.run(|conn| {
        conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
    .expect("the writer still writes");
}

#[tokio::test]
async fn a_reader_connection_refuses_to_write() {
    let (_dir, db) = sqlite(1);
    let wrote = db
        .read(|conn| {
            conn.batch_execute("CREATE TABLE t (x INTEGER)")
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await;
    assert!(wrote.is_err(), "a reader wrote: {wrote:?}");
}
