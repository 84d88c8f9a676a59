//! The hand-written OpenAPI 3 document served at `/v1/openapi.json`.

use serde_json::{json, Value};

fn err(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "description": "Session id" })
}

/// The document.
pub fn document() -> Value {
    json!({
      "openapi": "3.0.3",
      "info": {
        "title": "facecast",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Real-time talking-avatar sessions: speech audio in, lip-synced video out over WebRTC (WHEP). \
                        WebSocket protocol for streamed audio: docs/PROTOCOL.md. When FACECAST_API_KEY is set, /v1/* and /metrics \
                        need 'Authorization: Bearer <key>' (or ?token=<key>)."
      },
      "components": {
        "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        "schemas": {
          "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["code", "message"],
              "properties": { "code": { "type": "string", "example": "session_not_found" }, "message": { "type": "string" } } } }
          },
          "CreateSession": {
            "type": "object", "additionalProperties": false,
            "properties": {
              "avatar": { "type": "string", "default": "default" },
              "width": { "type": "integer", "default": 512 }, "height": { "type": "integer", "default": 512 },
              "fps": { "type": "integer", "default": 25, "minimum": 1, "maximum": 60 },
              "emotion": { "type": "string", "enum": ["neutral","happy","sad","angry","surprised","fearful","disgusted","concerned"] },
              "background": { "type": "string", "example": "#20242c" },
              "head_motion": { "type": "number", "minimum": 0, "maximum": 2, "description": "0 = fixed head, 1 = default idle motion" },
              "seed": { "type": "integer", "description": "seed of the idle animation" }
            }
          },
          "Session": {
            "type": "object",
            "properties": {
              "id": {"type": "string"}, "avatar": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
              "fps": {"type": "integer"}, "background": {"type": "string", "nullable": true}, "emotion": {"type": "string"},
              "intensity": {"type": "number"}, "viewers": {"type": "integer"}, "websockets": {"type": "integer"},
              "frames_rendered": {"type": "integer"}, "frames_late": {"type": "integer"}, "queued_ms": {"type": "integer"},
              "media_time_ms": {"type": "integer"}, "segments": {"type": "integer"}, "video_bitrate_bps": {"type": "integer"},
              "created_unix_ms": {"type": "integer"}
            }
          },
          "SpeakAccepted": { "type": "object", "properties": {
              "segment": {"type": "integer"}, "duration_ms": {"type": "integer"}, "queued_ms": {"type": "integer"} } }
        }
      },
      "security": [ { "bearer": [] } ],
      "paths": {
        "/v1/sessions": {
          "post": {
            "summary": "Create a session",
            "requestBody": { "required": false, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CreateSession" } } } },
            "responses": {
              "201": { "description": "Created", "content": { "application/json": { "schema": { "type": "object", "properties": { "id": { "type": "string" } } } } } },
              "400": err("Invalid JSON"), "401": err("Missing/wrong API key"), "413": err("Body too large"),
              "415": err("Not application/json"), "422": err("Invalid parameter"), "503": err("Too many sessions")
            }
          },
          "get": { "summary": "List sessions", "responses": { "200": { "description": "Sessions",
            "content": { "application/json": { "schema": { "type": "object", "properties": { "sessions": { "type": "array", "items": { "$ref": "#/components/schemas/Session" } } } } } } } } }
        },
        "/v1/sessions/{id}": {
          "parameters": [ id_param() ],
          "get": { "summary": "Describe a session", "responses": { "200": { "description": "Session",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Session" } } } }, "404": err("Unknown session") } },
          "delete": { "summary": "End a session (and its viewers)", "responses": { "204": { "description": "Ended" }, "404": err("Unknown session") } }
        },
        "/v1/sessions/{id}/whep": {
          "parameters": [ id_param() ],
          "post": {
            "summary": "WHEP (RFC 9725): watch the session over WebRTC",
            "description": "Body: an SDP offer (recvonly audio + video, optionally a data channel that then carries session events as JSON). \
                            Video is H.264 (42e01f, packetization-mode 1) unless the offer lists VP8 first or has no H.264.",
            "requestBody": { "required": true, "content": { "application/sdp": { "schema": { "type": "string" } } } },
            "responses": {
              "201": { "description": "SDP answer", "headers": { "Location": { "schema": { "type": "string" }, "description": "Viewer resource; DELETE it to stop" } },
                       "content": { "application/sdp": { "schema": { "type": "string" } } } },
              "400": err("Bad SDP / no common codec"), "404": err("Unknown session"), "415": err("Not application/sdp"), "503": err("Too many viewers")
            }
          }
        },
        "/v1/sessions/{id}/whep/{viewer}": {
          "parameters": [ id_param(), { "name": "viewer", "in": "path", "required": true, "schema": { "type": "string" } } ],
          "delete": { "summary": "Stop a viewer", "responses": { "200": { "description": "Stopped" }, "404": err("Unknown session or viewer") } },
          "patch": { "summary": "Trickle ICE (not supported)", "responses": { "405": err("Not supported") } }
        },
        "/v1/sessions/{id}/speak": {
          "parameters": [ id_param() ],
          "post": {
            "summary": "Queue speech: an audio file, or text spoken by the server's speech engine (`facecast serve --tts`; espeak-ng when installed)",
            "requestBody": { "required": true, "content": {
              "audio/wav": { "schema": { "type": "string", "format": "binary" } },
              "audio/mpeg": { "schema": { "type": "string", "format": "binary" } },
              "audio/flac": { "schema": { "type": "string", "format": "binary" } },
              "audio/ogg": { "schema": { "type": "string", "format": "binary" } },
              "application/octet-stream": { "schema": { "type": "string", "format": "binary" } },
              "application/json": { "schema": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } } }
            } },
            "responses": {
              "202": { "description": "Queued as one segment", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SpeakAccepted" } } } },
              "400": err("Empty body / bad JSON / empty text"), "404": err("Unknown session"), "413": err("Body too large / text longer than 5000 characters"),
              "415": err("Unsupported content type"), "422": err("Undecodable audio"), "429": err("Audio queue full"),
              "501": err("Text given but no speech engine is configured"),
              "502": err("The speech engine failed (its message is included)")
            }
          }
        },
        "/v1/sessions/{id}/emotion": {
          "parameters": [ id_param() ],
          "post": {
            "summary": "Set the emotion",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["emotion"],
              "properties": { "emotion": { "type": "string" }, "intensity": { "type": "number", "minimum": 0, "maximum": 1, "default": 1 } } } } } },
            "responses": { "200": { "description": "Set" }, "400": err("Bad JSON"), "404": err("Unknown session"), "415": err("Not JSON"), "422": err("Unknown emotion / bad intensity") }
          }
        },
        "/v1/sessions/{id}/interrupt": {
          "parameters": [ id_param() ],
          "post": { "summary": "Stop speaking now (queued audio is dropped; the face eases to rest)",
            "responses": { "200": { "description": "Interrupted" }, "404": err("Unknown session") } }
        },
        "/v1/sessions/{id}/ws": {
          "parameters": [ id_param() ],
          "get": { "summary": "WebSocket: binary audio frames (FCAU) and JSON control in, events out (docs/PROTOCOL.md)",
            "responses": { "101": { "description": "Switching protocols" }, "400": err("Not a WebSocket request"), "404": err("Unknown session") } }
        },
        "/v1/avatars": { "get": { "summary": "Avatars offered", "responses": { "200": { "description": "Avatars" } } } },
        "/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3 document" } } } },
        "/healthz": { "get": { "summary": "Liveness", "security": [], "responses": { "200": { "description": "OK" } } } },
        "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Text exposition 0.0.4",
          "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
        "/": { "get": { "summary": "Web demo", "security": [], "responses": { "200": { "description": "HTML" } } } }
      }
    })
}
