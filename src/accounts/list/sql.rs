//! The SQL side of the list: conditions and orderings built from the parsed request, out of
//! schema column names only.

use super::*;

pub(super) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

macro_rules! text_filter {
    ($query:expr, $col:expr, $op:expr, $v:expr) => {
        match $op {
            Op::Eq => $query.filter($col.eq($v)),
            Op::Ne => $query.filter($col.ne($v)),
            Op::Gt => $query.filter($col.gt($v)),
            Op::Gte => $query.filter($col.ge($v)),
            Op::Lt => $query.filter($col.lt($v)),
            Op::Lte => $query.filter($col.le($v)),
            Op::Like => $query.filter($col.like(format!("%{}%", escape_like(&$v))).escape('\\')),
            Op::Prefix => $query.filter($col.like(format!("{}%", escape_like(&$v))).escape('\\')),
        }
    };
}

macro_rules! time_filter {
    ($query:expr, $col:expr, $op:expr, $v:expr) => {
        match $op {
            Op::Eq => $query.filter($col.eq($v)),
            Op::Ne => $query.filter($col.ne($v)),
            Op::Gt => $query.filter($col.gt($v)),
            Op::Gte => $query.filter($col.ge($v)),
            Op::Lt => $query.filter($col.lt($v)),
            // parse_filter refuses like/prefix on times.
            Op::Lte | Op::Like | Op::Prefix => $query.filter($col.le($v)),
        }
    };
}

pub(super) fn apply(
    query: users::BoxedQuery<'static, MultiBackend>,
    f: &Filter,
) -> users::BoxedQuery<'static, MultiBackend> {
    match (&f.value, f.field) {
        (Operand::Time(t), Field::CreatedAt) => time_filter!(query, users::created_at, f.op, *t),
        (Operand::Time(t), Field::UpdatedAt) => time_filter!(query, users::updated_at, f.op, *t),
        (Operand::Text(v), Field::Id) => text_filter!(query, users::id, f.op, v.clone()),
        (Operand::Text(v), Field::Username) => {
            text_filter!(query, users::username_lower, f.op, v.clone())
        }
        (Operand::Text(v), Field::Phone) => text_filter!(query, users::phone, f.op, v.clone()),
        (Operand::Text(v), Field::Email) => text_filter!(query, users::email, f.op, v.clone()),
        (Operand::Text(v), Field::Role) => text_filter!(query, users::role, f.op, v.clone()),
        (Operand::Text(v), Field::Status) => text_filter!(query, users::status, f.op, v.clone()),
        // operand() makes times only for time fields.
        _ => query,
    }
}

pub(super) type Boxed = diesel::internal::table_macro::BoxedSelectStatement<
    'static,
    diesel::dsl::AsSelect<UserRow, MultiBackend>,
    diesel::internal::table_macro::FromClause<users::table>,
    MultiBackend,
>;

/// Orders by one key: by the column itself, or with `fence` by an expression no index
/// matches, in the same order.
pub(super) fn order(query: Boxed, sort: Sort, fence: Option<Backend>) -> Boxed {
    macro_rules! by {
        ($col:expr) => {
            match fence {
                Some(backend) => query.then_order_by(unindexed(column_name($col), sort, backend)),
                None if sort.desc => query.then_order_by($col.desc()),
                None => query.then_order_by($col.asc()),
            }
        };
    }
    match sort.field {
        Field::Id => by!(users::id),
        Field::Username => by!(users::username_lower),
        Field::Phone => by!(users::phone),
        Field::Email => by!(users::email),
        Field::Role => by!(users::role),
        Field::Status => by!(users::status),
        Field::CreatedAt => by!(users::created_at),
        Field::UpdatedAt => by!(users::updated_at),
    }
}

pub(super) fn column_name<C: diesel::Column>(_: C) -> &'static str {
    C::NAME
}

/// `column`'s order through an expression: text keys concatenated with '' (NULLs and
/// collation unchanged); the time keys, never NULL, with PostgreSQL's other NULL placement
/// or SQLite's unary `+`, its documented index fence. The SQL text is made of schema column
/// names only, never of the request.
pub(super) fn unindexed(
    column: &str,
    sort: Sort,
    backend: Backend,
) -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    let direction = if sort.desc { "DESC" } else { "ASC" };
    let time = matches!(sort.field, Field::CreatedAt | Field::UpdatedAt);
    let text = match (time, backend) {
        (true, Backend::Postgres) if sort.desc => format!("users.{column} DESC NULLS LAST"),
        (true, Backend::Postgres) => format!("users.{column} ASC NULLS FIRST"),
        (true, Backend::Sqlite) => format!("+users.{column} {direction}"),
        (false, _) => format!("(users.{column} || '') {direction}"),
    };
    diesel::dsl::sql::<diesel::sql_types::Text>(&text)
}
