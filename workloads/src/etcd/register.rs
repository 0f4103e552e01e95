//! `etcd/register`: key `{prefix}/register/{key}`; `read` is a range (serializable
//! when the options say so), `write` a put, `cas` a txn that compares the value
//! with the expected one and puts the new one. A txn whose comparison failed
//! certainly wrote nothing: `fail`.

use serde_json::json;
use splitbrain_history::Value;

use super::{
    CallError, Conn, EtcdWorkload, PutResponse, TxnResponse, b64, decode_value, encode_value,
    unknown_function,
};
use crate::Request;

#[derive(Debug)]
pub struct Register;

impl EtcdWorkload for Register {
    async fn run(conn: &Conn, req: &Request) -> Result<Value, CallError> {
        let key = conn.key(&format!("register/{}", key_text(req.key.as_ref())));
        match req.f.as_ref() {
            "read" => match conn.range(&key, conn.serializable()).await? {
                Some(kv) => decode_value(&kv.value),
                None => Ok(Value::Nil),
            },
            "write" => {
                let body = json!({ "key": b64(key.as_bytes()), "value": encode_value(&req.value) });
                let _: PutResponse = conn.call("put", &body).await?;
                Ok(req.value.clone())
            }
            "cas" => {
                let Some([old, new]) = req
                    .value
                    .as_list()
                    .and_then(|l| <&[Value; 2]>::try_from(l).ok())
                else {
                    return Err(CallError::Rejected(format!(
                        "cas needs an [old new] pair, got {}",
                        req.value
                    )));
                };
                let k = b64(key.as_bytes());
                let body = json!({
                    "compare": [{ "key": k, "target": "VALUE", "result": "EQUAL", "value": encode_value(old) }],
                    "success": [{ "request_put": { "key": k, "value": encode_value(new) } }],
                });
                let r: TxnResponse = conn.call("txn", &body).await?;
                if r.succeeded {
                    Ok(req.value.clone())
                } else {
                    Err(CallError::Rejected("cas: the value differs".into()))
                }
            }
            f => Err(unknown_function("register", f)),
        }
    }
}

/// A key's text in etcd: integers and strings as they are, other values as EDN.
fn key_text(key: Option<&Value>) -> String {
    match key {
        Some(Value::Str(s)) => s.to_string(),
        Some(v) => v.to_string(),
        None => "nil".into(),
    }
}
