use super::*;

#[derive(serde::Deserialize)]
struct Demo {
    number: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Known {
    number: Option<String>,
    pwd: Option<String>,
    filter: Option<Value>,
    #[serde(rename = "avatarUrl")]
    avatar_url: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Needs {
    number: String,
    terminal: Option<String>,
    pwd: String,
    count: i64,
}

fn missing(result: ApiResult<Needs>) -> Vec<String> {
    match result {
        Err(ApiError::InvalidParams(f)) => {
            assert!(f.values().all(|reason| reason == "required"), "{f:?}");
            f.into_keys().collect()
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_missing_required_field_is_named_in_one_answer() {
    let input = Input::from_parts("terminal=web", "", b"").unwrap();
    assert_eq!(missing(input.parse()), ["count", "number", "pwd"]);
    let input = Input::from_parts("pwd=", "application/json", br#"{"count":1}"#).unwrap();
    assert_eq!(missing(input.parse()), ["number", "pwd"]);
}

#[test]
fn runtime_requirements_are_named_with_the_type_s_own() {
    let input = Input::from_parts("number=1&pwd=p", "", b"").unwrap();
    assert_eq!(
        missing(input.parse_requiring(&["verify_code", "number"])),
        ["count", "verify_code"]
    );
    let input = Input::from_parts("number=1&pwd=p", "application/json", br#"{"count":2}"#).unwrap();
    let needs: Needs = input.parse_requiring(&[]).unwrap();
    assert_eq!((needs.number.as_str(), needs.count), ("1", 2));
}

#[test]
fn a_value_of_the_wrong_type_is_named_as_such_even_with_fields_missing() {
    let input = Input::from_parts("", "application/json", br#"{"number":5}"#).unwrap();
    match input.parse::<Needs>() {
        Err(ApiError::InvalidParams(f)) => {
            assert_eq!(
                f.into_iter().collect::<Vec<_>>(),
                [("number".into(), "wrong type".into())]
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_fallback_fills_only_an_absent_field() {
    let input = Input::from_parts("pwd=given", "", b"").unwrap();
    let input = input
        .or_else("pwd", Some("cookie".into()))
        .or_else("number", Some("cookie".into()))
        .or_else("terminal", Some(String::new()));
    assert_eq!(input.str("pwd"), Some("given"));
    assert_eq!(input.str("number"), Some("cookie"));
    assert_eq!(input.str("terminal"), None);
}

#[test]
fn empty_values_count_as_absent() {
    let input = Input::from_parts("number=", "application/json", br#"{"pwd":""}"#).unwrap();
    assert!(input.str("number").is_none());
    assert!(input.str("pwd").is_none());
}

#[test]
fn body_overrides_query() {
    let input =
        Input::from_parts("number=1", "application/x-www-form-urlencoded", b"number=2").unwrap();
    assert_eq!(input.str("number"), Some("2"));
}

#[test]
fn wrong_type_names_the_field() {
    let input = Input::from_parts("", "application/json", br#"{"number":5}"#).unwrap();
    match input.parse::<Demo>() {
        Err(ApiError::InvalidParams(f)) => assert!(f.contains_key("number")),
        other => panic!("unexpected {:?}", other.map(|d| d.number)),
    }
}

#[test]
fn nul_characters_are_refused_in_fields_the_route_reads() {
    for (query, mime, body, field) in [
        ("number=1%002", "", &b""[..], "number"),
        (
            "",
            "application/x-www-form-urlencoded",
            &b"pwd=a%00b"[..],
            "pwd",
        ),
        (
            "",
            "application/json",
            &br#"{"filter":[{"value":"\u0000"}]}"#[..],
            "filter",
        ),
        (
            "",
            "application/json",
            &br#"{"filter":{"k\u0000":1}}"#[..],
            "filter",
        ),
        (
            "",
            "application/json",
            &br#"{"avatarUrl":"\u0000"}"#[..],
            "avatarUrl",
        ),
    ] {
        let input = Input::from_parts(query, mime, body).unwrap();
        match input.parse::<Known>() {
            Err(ApiError::InvalidParams(f)) => {
                assert_eq!(f.keys().collect::<Vec<_>>(), [field], "{query} {body:?}")
            }
            other => panic!("{query} {body:?}: {other:?}"),
        }
    }
}

#[test]
fn unknown_fields_are_ignored_even_with_nul_characters() {
    let input = Input::from_parts(
        "other=%00",
        "application/json",
        br#"{"number":"1","deep":{"k\u0000":["\u0000"]}}"#,
    )
    .unwrap();
    assert_eq!(input.parse::<Known>().unwrap().number.as_deref(), Some("1"));
}

#[test]
fn malformed_json_and_non_objects_are_rejected() {
    assert!(Input::from_parts("", "application/json", b"{").is_err());
    assert!(Input::from_parts("", "application/json", b"[1]").is_err());
    assert!(Input::from_parts("", "text/plain", b"x").is_err());
}

#[test]
fn a_parameter_read_outside_parse_follows_the_same_rules() {
    let input = Input::from_parts(
        "",
        "application/json",
        br#"{"a":"text","b":"x\u0000y","c":7}"#,
    )
    .unwrap();
    assert_eq!(input.text("a").unwrap(), Some("text"));
    assert_eq!(input.text("missing").unwrap(), None);
    for name in ["b", "c"] {
        match input.text(name) {
            Err(ApiError::InvalidParams(f)) => assert!(f.contains_key(name), "{f:?}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}
