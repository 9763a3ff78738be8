use super::*;

fn err_field(r: ApiResult<ListQuery>) -> String {
    match r {
        Err(ApiError::InvalidParams(f)) => f.keys().next().cloned().unwrap_or_default(),
        other => panic!("expected invalid_params, got {other:?}"),
    }
}

#[test]
fn hostile_field_names_are_rejected() {
    for name in [
        "name;DROP TABLE users--",
        "password_hash",
        "(CASE WHEN 1=1 THEN username END)",
    ] {
        let filter = serde_json::json!([{ "fieldname": name, "option": "eq", "value": "x" }]);
        assert_eq!(
            err_field(ListQuery::parse(None, Some(&filter.to_string()), None)),
            "filter"
        );
        let sort = serde_json::json!([{ "field": name, "direction": "asc" }]);
        assert_eq!(
            err_field(ListQuery::parse(None, None, Some(&sort.to_string()))),
            "sort"
        );
    }
}

#[test]
fn page_sizes_are_bounded() {
    for p in [
        r#"{"page":1,"limit":0}"#,
        r#"{"page":1,"limit":101}"#,
        r#"{"page":0,"limit":10}"#,
        r#"{"page":-1}"#,
        "not json",
        r#"{"limit":1e99}"#,
    ] {
        assert_eq!(err_field(ListQuery::parse(Some(p), None, None)), "paginate");
    }
}

#[test]
fn two_key_filter_form_is_a_contains_search() {
    let q = ListQuery::parse(
        None,
        Some(r#"[{"fieldname":"username","option":"张"}]"#),
        None,
    )
    .unwrap();
    assert_eq!(q.filters[0].op, Op::Like);
}

#[test]
fn like_wildcards_in_values_are_escaped() {
    assert_eq!(escape_like("50%_a\\"), "50\\%\\_a\\\\");
}
