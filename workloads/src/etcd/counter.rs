//! `etcd/counter`: one key `{prefix}/counter`. etcd cannot increment in place, so
//! `add` reads the value and its `mod_revision`, then a txn puts value + n if the
//! revision is unchanged, else returns the current value (in the txn's failure
//! branch) to try again, at most [`super::EtcdOptions::cas_retries`] times; if no
//! attempt succeeded, none applied: `fail`.

use serde_json::json;
use splitbrain_history::Value;

use super::{
    CallError, Conn, EtcdWorkload, TxnResponse, b64, decode_value, encode_value, unknown_function,
};
use crate::Request;

#[derive(Debug)]
pub struct Counter;

impl EtcdWorkload for Counter {
    async fn run(conn: &Conn, req: &Request) -> Result<Value, CallError> {
        let key = conn.key("counter");
        match req.f.as_ref() {
            "read" => match conn.range(&key, conn.serializable()).await? {
                Some(kv) => decode_value(&kv.value),
                None => Ok(Value::Int(0)),
            },
            "add" => {
                let Some(delta) = req.value.as_int() else {
                    return Err(CallError::Rejected(format!(
                        "add needs an integer, got {}",
                        req.value
                    )));
                };
                let k = b64(key.as_bytes());
                // Until a txn was sent, nothing was written: every error is `fail`.
                // Always a linearizable read here: a stale revision would only cost a retry.
                let mut current = conn
                    .range(&key, false)
                    .await
                    .map_err(|e| e.not_applied("add: reading the counter"))?;
                let retries = conn.options().cas_retries;
                for _ in 0..=retries {
                    let (value, revision) = match &current {
                        Some(kv) => {
                            let v = decode_value(&kv.value)
                                .map_err(|e| e.not_applied("add: reading the counter"))?;
                            let Some(n) = v.as_int() else {
                                return Err(CallError::Rejected(format!(
                                    "add: the counter holds {v}, not an integer"
                                )));
                            };
                            (n, kv.mod_revision)
                        }
                        // An absent key has mod_revision 0 in a comparison.
                        None => (0, 0),
                    };
                    let body = json!({
                        "compare": [{ "key": k, "target": "MOD", "result": "EQUAL", "mod_revision": revision.to_string() }],
                        "success": [{ "request_put": { "key": k, "value": encode_value(&Value::Int(value + delta)) } }],
                        "failure": [{ "request_range": { "key": k } }],
                    });
                    let r: TxnResponse = conn.call("txn", &body).await?;
                    if r.succeeded {
                        return Ok(req.value.clone());
                    }
                    current = r
                        .responses
                        .into_iter()
                        .find_map(|op| op.response_range)
                        .and_then(|range| range.kvs.into_iter().next());
                }
                Err(CallError::Rejected(format!(
                    "add: the counter changed under each of {} compare-and-set attempts",
                    retries + 1
                )))
            }
            f => Err(unknown_function("counter", f)),
        }
    }
}
