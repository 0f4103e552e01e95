//! `etcd/unique-ids`: `generate` is a put to one key, `{prefix}/unique-ids`, and its
//! id is the revision the put created (the response header's `revision`). etcd
//! gives every successful write its own revision, cluster-wide and increasing, so
//! two acknowledged generates can share an id only if etcd is wrong.
//!
//! A put with no header (or revision 0) is an answer etcd never gives: the put may
//! have been applied but its id is unknown, so `info`. Errors follow the other etcd
//! clients: `fail` only when the put certainly was not applied.

use serde_json::json;
use splitbrain_history::Value;

use super::{CallError, Conn, EtcdWorkload, PutResponse, b64, unknown_function};
use crate::Request;
use crate::workloads::unique_ids::GENERATE;

#[derive(Debug)]
pub struct UniqueIds;

impl EtcdWorkload for UniqueIds {
    async fn run(conn: &Conn, req: &Request) -> Result<Value, CallError> {
        match req.f.as_ref() {
            GENERATE => {
                let key = conn.key("unique-ids");
                // The value is irrelevant; an empty one keeps the key small.
                let body = json!({ "key": b64(key.as_bytes()), "value": "" });
                let r: PutResponse = conn.call("put", &body).await?;
                revision_id(&r)
            }
            f => Err(unknown_function("unique-ids", f)),
        }
    }
}

/// The id a put answered: its revision.
fn revision_id(r: &PutResponse) -> Result<Value, CallError> {
    match r.header.as_ref().map(|h| h.revision) {
        Some(rev) if rev > 0 => Ok(Value::Int(rev)),
        _ => Err(CallError::Ambiguous(
            "etcd answered the put without its revision".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_puts_revision() {
        let r: PutResponse =
            serde_json::from_str(r#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"17","raft_term":"2"}}"#)
                .unwrap();
        assert_eq!(revision_id(&r), Ok(Value::Int(17)));
        // No header: applied or not, the id is unknown; never `fail`, never an id.
        let e = revision_id(&PutResponse::default()).unwrap_err();
        assert!(
            matches!(e.clone().outcome(false), crate::Outcome::Info(_)),
            "{e:?}"
        );
    }
}
