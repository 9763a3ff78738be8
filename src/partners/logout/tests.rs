use super::worker::{claim_in, clients_with_pending};
use super::*;

fn row(client: &str, state: &str) -> DeliveryRow {
    let url = "http://127.0.0.1:1/logout".to_string();
    let sid = uuid::Uuid::new_v4().to_string();
    DeliveryRow {
        state: state.into(),
        ..DeliveryRow::due(
            client.into(),
            sid,
            "1".into(),
            url,
            ClientAlg::EdDsa,
            crate::db::now(),
        )
    }
}

#[actix_web::test]
async fn claims_skip_a_full_partners_backlog_and_keep_each_share() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::config::DatabaseUrl::Sqlite(dir.path().join("g.db"));
    let db = crate::db::Db::connect(&url, Some(1)).unwrap();
    db.migrate().unwrap();
    let (listed, first, capped, again) = db
        .run(|conn| {
            let mut rows: Vec<DeliveryRow> = (0..500).map(|_| row("slow", PENDING)).collect();
            rows.extend((0..3).map(|_| row("other", PENDING)));
            rows.push(row("gone", DELIVERED));
            let insert = |conn: &mut DbConnection, rows: Vec<DeliveryRow>| {
                // One statement per row: MultiConnection has no batch insert.
                for r in rows {
                    diesel::insert_into(logout_deliveries::table)
                        .values(r)
                        .execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(())
            };
            insert(conn, rows)?;
            let listed = clients_with_pending(conn)?;
            let full = HashMap::from([("slow".to_string(), 64)]);
            let first = claim_in(conn, 32, &full, 64)?;
            insert(conn, (0..5).map(|_| row("other", PENDING)).collect())?;
            let nearly = HashMap::from([("slow".to_string(), 64), ("other".to_string(), 62)]);
            let capped = claim_in(conn, 32, &nearly, 64)?;
            let again = claim_in(conn, 32, &nearly, 64)?;
            Ok((listed, first, capped, again))
        })
        .await
        .unwrap();
    assert_eq!(listed, ["other", "slow"]);
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|d| d.client_id == "other"));
    // Two slots left under the share: two of the five new rows; the next claim takes two
    // of the three left, never a row already leased.
    assert_eq!(capped.len(), 2);
    assert!(capped.iter().all(|d| d.client_id == "other"));
    assert_eq!(again.len(), 2);
    let ids: std::collections::HashSet<&String> = first
        .iter()
        .chain(&capped)
        .chain(&again)
        .map(|d| &d.id)
        .collect();
    assert_eq!(ids.len(), 7);
}

#[test]
fn backoff_grows_and_is_capped() {
    let first = backoff(1000, 1).as_millis();
    assert!((750..=1250).contains(&first), "{first}");
    let fourth = backoff(1000, 4).as_millis();
    assert!((6000..=10000).contains(&fourth), "{fourth}");
    assert!(backoff(1000, 60).as_millis() <= 750_000);
}

#[test]
fn a_cas_logout_request_reads_the_same_after_any_form_decoding() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
        .unwrap()
        .to_utc();
    let ticket = format!("ST-{}", "ab".repeat(32));
    let body = delivery::cas_logout_body("user-1", &ticket, now);
    let xml = body.strip_prefix("logoutRequest=").expect("the field name");
    assert!(
        xml.starts_with(
            "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
             xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"LR-"
        ),
        "{xml}"
    );
    assert!(xml.contains(" Version=\"2.0\" IssueInstant=\"2026-12-03T10:00:00Z\">"));
    assert!(xml.ends_with(&format!(
        "><saml:NameID>user-1</saml:NameID><samlp:SessionIndex>{ticket}</samlp:SessionIndex></samlp:LogoutRequest>"
    )));
    assert!(!xml.contains(['&', '+', '%', '#', '\n']), "{xml}");
    let decoded: String = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(decoded, body, "form decoding changes nothing");
    assert_ne!(
        delivery::cas_logout_body("user-1", &ticket, now),
        body,
        "a fresh ID each attempt"
    );
}
