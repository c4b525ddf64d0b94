//! The OpenAPI 3.1 document of the whole API, generated from [`crate::access::ROUTES`] — the same table the access
//! middleware enforces — so a route cannot exist without appearing here.

use axum::Json;
use serde_json::{Map, Value, json};

use crate::access::{Access, Answer, ROUTES};

/// The document.
pub fn document() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|settings| settings.definitions_path = "#/components/schemas".into())
        .into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let (security, permission) = match route.access {
            Access::Public => (json!([]), None),
            // Onboarding carries the tenant's token in its body.
            Access::Device if route.path == "/device/onboard" => (json!([]), None),
            Access::Device => (json!([{ "device": [] }]), None),
            Access::SignedIn => (json!([{ "session": [] }]), None),
            Access::Needs(permission) => (json!([{ "session": [] }]), Some(permission.code())),
        };
        let mut responses = Map::new();
        let (status, body) = route.response;
        let success = match body {
            Answer::Empty => json!({ "description": "Done; no body" }),
            Answer::Csv => {
                json!({ "description": "A CSV file", "content": { "text/csv": { "schema": { "type": "string" } } } })
            }
            Answer::Json(schema) => json!({
                "description": "Success",
                "content": { "application/json": { "schema": schema(&mut generator).to_value() } }
            }),
        };
        responses.insert(status.to_string(), success);
        if route.path == "/device/check-in" {
            responses.insert("304".to_owned(), json!({ "description": "The device holds the current policies" }));
        }
        for (status, text) in [
            ("400", "The input broke one or more rules; every problem is listed"),
            ("401", "Not signed in, or wrong device credentials"),
            ("403", "The role does not allow it, or a write lacks the admin center's CSRF header"),
            ("404", "No such object"),
            ("429", "Too many failed sign-ins"),
        ] {
            let applies = match status {
                "401" | "403" => !matches!(route.access, Access::Public),
                "429" => route.path == "/auth/login",
                _ => true,
            };
            if applies {
                responses.insert(
                    status.to_owned(),
                    json!({ "description": text, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } } }),
                );
            }
        }
        let mut operation = json!({
            "operationId": format!("{} {}", route.method, route.path),
            "summary": route.summary,
            "security": security,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(permission) = permission {
            operation["x-rampart-permission"] = json!(permission);
        }
        if let Some(request) = route.request {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": request(&mut generator).to_value() } }
            });
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Rampart API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The admin API (session cookie; writes need the x-rampart-csrf header) and the device API."
        },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "device": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "Device <device id>:<device secret>" }
            },
            "schemas": schemas(generator.take_definitions(true))
        }
    })
}

/// The generated schemas and the error envelope's.
fn schemas(mut generated: Map<String, Value>) -> Value {
    generated.insert(
        "ErrorEnvelope".to_owned(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "violations"],
                    "properties": {
                        "code": { "type": "string" },
                        "message": { "type": "string" },
                        "violations": { "type": "array", "items": {
                            "type": "object",
                            "required": ["path", "message"],
                            "properties": { "path": { "type": "string" }, "message": { "type": "string" } }
                        } }
                    }
                }
            }
        }),
    );
    Value::Object(generated)
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_get() -> Json<Value> {
    Json(document())
}
