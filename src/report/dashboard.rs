//! The dashboard served at `/`: one HTML page, its script and style
//! sheet, compiled into the binary. The page signs in with an API token
//! (kept in the tab's session storage), asks `GET /v1/whoami` for the
//! role, and shows that role's pages: charts fetched from
//! `GET /v1/reports/...` with the token and shown from blob URLs, lists
//! from the JSON routes. Nothing is loaded from anywhere else, which the
//! content security policy enforces.

/// The page.
pub const HTML: &str = include_str!("assets/dashboard.html");
/// Its script.
pub const JS: &str = include_str!("assets/dashboard.js");
/// Its style sheet.
pub const CSS: &str = include_str!("assets/dashboard.css");
/// Content security policy of the dashboard's files: this server only;
/// images also from the blob URLs the script makes.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";
