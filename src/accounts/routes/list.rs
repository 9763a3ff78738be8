use actix_web::get;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::ContentBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};

use crate::accounts::UserView;
use crate::accounts::list::ListQuery;
use crate::auth::Operator;
use crate::error::{Answer, ApiError};
use crate::http::envelope;
use crate::http::input::Input;
use crate::openapi::EnvelopeOf;
use crate::openapi::fields;
use crate::openapi::responses::OperatorListRefusals;
use crate::state::Shared;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    pub paginate: Option<String>,
    pub filter: Option<String>,
    pub sort: Option<String>,
}

/// Each parameter is a JSON text: documented as query parameters with `application/json`
/// content, whose schemas say what `ListQuery::parse` takes.
impl IntoParams for ListParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let json = |name: &str, description: &str, schema| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .description(Some(description))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .build()
        };
        vec![
            json(
                "paginate",
                r#"`{"page": 1, "limit": 20}` (the default): page from 1, limit 1 to 100."#,
                fields::paginate(),
            ),
            json(
                "filter",
                r#"`[{"fieldname": "username", "option": "like", "value": "张"}]`: conditions that must all hold; options `eq`, `ne`, `like` (contains), `prefix`, `gt`, `gte`, `lt`, `lte`; without `value`, `option` is the text searched for (`like`, text fields only)."#,
                fields::filter(),
            ),
            json(
                "sort",
                r#"`[{"field": "created_at", "direction": "desc"}]` (the default)."#,
                fields::sort(),
            ),
        ]
    }
}

/// Lists users (operators only); `total` counts every match.
#[utoipa::path(
    tag = "accounts", params(ListParams),
    security(("bearer" = []), ("token_header" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "A page of users", body = inline(EnvelopeOf<Vec<UserView>>)),
        OperatorListRefusals,
    )
)]
#[get("/users")]
pub async fn list_users(state: Shared, _operator: Operator, input: Input) -> Answer {
    let p: ListParams = input.parse()?;
    let query = ListQuery::parse(
        p.paginate.as_deref(),
        p.filter.as_deref(),
        p.sort.as_deref(),
    )?;
    let (rows, total) = state
        .db
        .read(move |conn| query.run(conn).map_err(ApiError::from))
        .await?;
    let users: Vec<UserView> = rows.iter().map(UserView::from).collect();
    Ok(envelope::list(users, total.max(0) as u64))
}
