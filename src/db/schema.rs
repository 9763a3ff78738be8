// One schema for every backend: only types SQLite and PostgreSQL share (ids and JSON as TEXT,
// UTC times as TIMESTAMP).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Nullable<Text>,
        username_lower -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        head_img -> Nullable<Text>,
        openid -> Nullable<Text>,
        unionid -> Nullable<Text>,
        wechat_profile -> Nullable<Text>,
        role -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        phone_verified_at -> Nullable<Timestamp>,
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        callbacks -> Text,
        logout_url -> Nullable<Text>,
        mode -> Text,
        secret_hash -> Text,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        token_endpoint_auth_method -> Nullable<Text>,
        id_token_signed_response_alg -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        terminal -> Text,
        user_agent -> Text,
        ip -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        browser_key -> Nullable<Text>,
        auth_time -> Nullable<Timestamp>,
        amr -> Nullable<Text>,
    }
}

diesel::table! {
    session_clients (session_id, client_id) {
        session_id -> Text,
        client_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// CAS service tickets validated in a session, for single logout.
    cas_tickets (ticket) {
        ticket -> Text,
        session_id -> Text,
        client_id -> Text,
        service -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::table! {
    /// The audit trail (CONTRACT §9); `detail` is a JSON object.
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        event -> Text,
        user_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key -> Text,
        created_at -> Timestamp,
        activates_at -> Timestamp,
    }
}

diesel::joinable!(session_clients -> sessions (session_id));
diesel::joinable!(session_clients -> clients (client_id));
diesel::joinable!(cas_tickets -> clients (client_id));
diesel::joinable!(cas_tickets -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    clients,
    sessions,
    session_clients,
    logout_deliveries,
    revoked_tokens,
    oauth_tokens,
    cas_tickets,
    audit_events,
    signing_keys
);

diesel::table! {
    logout_deliveries (id) {
        id -> Text,
        client_id -> Text,
        sid -> Text,
        sub -> Text,
        logout_url -> Text,
        state -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        kind -> Text,
        alg -> Text,
        session_index -> Nullable<Text>,
    }
}

diesel::table! {
    /// OAuth tokens issued to OpenID Connect partners: access tokens by `jti`, refresh tokens
    /// by the SHA-256 of their value.
    oauth_tokens (id) {
        id -> Text,
        kind -> Text,
        client_id -> Text,
        sid -> Text,
        user_id -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        sid -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Users per status, kept by triggers on `users` (exact, transactional).
    user_counts (status) {
        status -> Text,
        n -> BigInt,
    }
}
