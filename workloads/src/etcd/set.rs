//! `etcd/set`: each element is its own key `{prefix}/set/{element}`, so `add` is a
//! single put (no read-modify-write, no contention between adders) and `read` a
//! range over the prefix (keys only).

use serde_json::json;
use splitbrain_history::Value;

use super::{
    CallError, Conn, EtcdWorkload, PutResponse, RangeResponse, b64, encode_value, unb64,
    unknown_function,
};
use crate::Request;

#[derive(Debug)]
pub struct Set;

impl EtcdWorkload for Set {
    async fn run(conn: &Conn, req: &Request) -> Result<Value, CallError> {
        let dir = conn.key("set/");
        match req.f.as_ref() {
            "add" => {
                let key = format!(
                    "{dir}{}",
                    serde_json::to_string(&req.value).expect("a Value always serializes")
                );
                let body = json!({ "key": b64(key.as_bytes()), "value": encode_value(&req.value) });
                let _: PutResponse = conn.call("put", &body).await?;
                Ok(req.value.clone())
            }
            "read" => {
                // The range [dir, dir with its last byte + 1): every key under the prefix.
                let mut end = dir.clone().into_bytes();
                *end.last_mut().expect("non-empty") += 1;
                let mut body = json!({
                    "key": b64(dir.as_bytes()),
                    "range_end": b64(&end),
                    "keys_only": true,
                });
                if conn.serializable() {
                    body["serializable"] = json!(true);
                }
                let r: RangeResponse = conn.call("range", &body).await?;
                let mut elements = Vec::with_capacity(r.kvs.len());
                for kv in r.kvs {
                    let key = unb64(&kv.key)?;
                    let text = &key[dir.len().min(key.len())..];
                    elements.push(serde_json::from_slice(text).unwrap_or_else(|_| {
                        Value::from(String::from_utf8_lossy(text).into_owned())
                    }));
                }
                // etcd orders keys as bytes ("10" < "9"); present numbers in numeric order.
                elements.sort_by_key(|v: &Value| v.as_int());
                Ok(Value::List(elements))
            }
            f => Err(unknown_function("set", f)),
        }
    }
}
