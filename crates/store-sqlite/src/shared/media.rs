// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/media.rs` names its
// database (`Db`, `DbRow`), its hooks (`AdapterStore` with `begin_ticket_tx`, `read_pool`,
// `write_pool`) and `SKIP_LOCKED` (the row-locking clause of a claim: empty on SQLite, whose one
// writer serialises claims, `FOR UPDATE SKIP LOCKED` on PostgreSQL), then includes this file.
// Every statement is built with `QueryBuilder`, so the same text serves both databases.
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use sqlx::{QueryBuilder, Row, Transaction};
use store::{
    EntryId, MediaDownload, MediaDownloadId, MediaFinish, MediaOutcome, MediaState, MediaStore,
    NewMediaDownload, StoreError, StoreResult,
};
use ticketing_core::{AccountId, NumberId};
use time::{Duration, OffsetDateTime};

use crate::convert::{db_err, duration_millis, instant, millis};

const MEDIA_COLUMNS: &str = "id, account_id, number_id, entry_id, attachment_index, wa_media_id, kind, mime_type, \
     sha256, filename, state, attempts, next_attempt_at, error, blob_key, size, content_type, created_at, updated_at";

fn col<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn non_negative(v: i64, name: &str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("column {name}: negative {v}")))
}

fn media_row(row: &DbRow) -> StoreResult<MediaDownload> {
    let state: String = col(row, "state")?;
    let index: i64 = col(row, "attachment_index")?;
    let attempts: i64 = col(row, "attempts")?;
    Ok(MediaDownload {
        id: MediaDownloadId(col(row, "id")?),
        account_id: AccountId(col(row, "account_id")?),
        item: NewMediaDownload {
            entry_id: EntryId(col(row, "entry_id")?),
            attachment_index: u32::try_from(index)
                .map_err(|_| StoreError::Corrupt(format!("attachment_index {index}")))?,
            number_id: NumberId(col(row, "number_id")?),
            wa_media_id: col(row, "wa_media_id")?,
            kind: col(row, "kind")?,
            mime_type: col(row, "mime_type")?,
            sha256: col(row, "sha256")?,
            filename: col(row, "filename")?,
        },
        state: MediaState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("media state {state:?}")))?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        next_attempt_at: instant(col(row, "next_attempt_at")?)?,
        error: col(row, "error")?,
        blob_key: col(row, "blob_key")?,
        size: col::<Option<i64>>(row, "size")?
            .map(|s| non_negative(s, "size"))
            .transpose()?,
        content_type: col(row, "content_type")?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
    })
}

/// Queues downloads inside a ticket transaction ([`store::TicketTx::enqueue_media`]).
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Db>,
    account: AccountId,
    items: &[NewMediaDownload],
    now: OffsetDateTime,
) -> StoreResult<u64> {
    let mut added = 0;
    // One statement per 200 downloads (14 values each, under both databases' limits).
    for chunk in items.chunks(200) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO media_downloads (account_id, number_id, entry_id, attachment_index, \
             wa_media_id, kind, mime_type, sha256, filename, state, attempts, next_attempt_at, \
             created_at, updated_at) ",
        );
        qb.push_values(chunk, |mut s, item| {
            s.push_bind(account.0)
                .push_bind(item.number_id.0)
                .push_bind(item.entry_id.0)
                .push_bind(i64::from(item.attachment_index))
                .push_bind(item.wa_media_id.clone())
                .push_bind(item.kind.clone())
                .push_bind(item.mime_type.clone())
                .push_bind(item.sha256.clone())
                .push_bind(item.filename.clone())
                .push_bind("pending")
                .push_bind(0i64)
                .push_bind(millis(now))
                .push_bind(millis(now))
                .push_bind(millis(now));
        });
        qb.push(" ON CONFLICT (entry_id, attachment_index) DO NOTHING");
        let done = qb.build().execute(&mut **tx).await.map_err(db_err)?;
        added += done.rows_affected();
    }
    Ok(added)
}

impl AdapterStore {
    /// The accounts of the downloads named, each with the positions in `finishes` that belong
    /// to it (in order); a download that no longer exists belongs to none.
    async fn media_accounts(
        &self,
        finishes: &[MediaFinish],
    ) -> StoreResult<Vec<(AccountId, Vec<usize>)>> {
        if finishes.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb =
            QueryBuilder::<Db>::new("SELECT id, account_id FROM media_downloads WHERE id IN (");
        let mut ids = qb.separated(", ");
        for f in finishes {
            ids.push_bind(f.id.0);
        }
        qb.push(")");
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        let mut owner = HashMap::with_capacity(rows.len());
        for row in &rows {
            owner.insert(col::<i64>(row, "id")?, AccountId(col(row, "account_id")?));
        }
        let mut groups: Vec<(AccountId, Vec<usize>)> = Vec::new();
        for (i, f) in finishes.iter().enumerate() {
            let Some(&account) = owner.get(&f.id.0) else {
                continue;
            };
            match groups.iter_mut().find(|(a, _)| *a == account) {
                Some((_, positions)) => positions.push(i),
                None => groups.push((account, vec![i])),
            }
        }
        Ok(groups)
    }
}

/// Rows per statement in a batch of outcomes or patches (at most 7 values each, under both
/// databases' limits).
const ROWS_PER_STATEMENT: usize = 200;

/// A patch for an attachment: a caller's position, the entry, the attachment's index, and the
/// object merged into it.
type AttachmentPatch<'a> = (usize, EntryId, u32, &'a serde_json::Value);

/// Merges each patch (an object; an empty one changes nothing) into its attachment, with one
/// read and one write per 200 entries. Returns the positions refused: [`StoreError::NotFound`]
/// when the entry is gone, [`StoreError::Corrupt`] when it has no such attachment.
async fn patch_attachments(
    tx: &mut Transaction<'static, Db>,
    account: AccountId,
    patches: &[AttachmentPatch<'_>],
    now: i64,
) -> StoreResult<HashMap<usize, StoreError>> {
    type Fields = serde_json::Map<String, serde_json::Value>;
    let mut by_entry: BTreeMap<i64, Vec<(usize, u32, &Fields)>> = BTreeMap::new();
    for (i, entry, index, patch) in patches {
        if let Some(fields) = patch.as_object().filter(|p| !p.is_empty()) {
            by_entry.entry(entry.0).or_default().push((*i, *index, fields));
        }
    }
    let mut refused: HashMap<usize, StoreError> = HashMap::new();
    let entries: Vec<i64> = by_entry.keys().copied().collect();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut qb =
            QueryBuilder::<Db>::new("SELECT id, attachments FROM ticket_entries WHERE account_id = ");
        qb.push_bind(account.0).push(" AND id IN (");
        let mut ids = qb.separated(", ");
        for id in chunk {
            ids.push_bind(*id);
        }
        qb.push(")");
        let mut stored: HashMap<i64, String> = HashMap::with_capacity(chunk.len());
        for row in qb.build().fetch_all(&mut **tx).await.map_err(db_err)? {
            stored.insert(col(&row, "id")?, col(&row, "attachments")?);
        }
        let mut rewritten: Vec<(i64, String)> = Vec::with_capacity(chunk.len());
        for id in chunk {
            let wanted = &by_entry[id];
            let Some(raw) = stored.get(id) else {
                for (i, _, _) in wanted {
                    refused.insert(*i, StoreError::NotFound);
                }
                continue;
            };
            let mut list: serde_json::Value = serde_json::from_str(raw)
                .map_err(|e| StoreError::Corrupt(format!("column attachments: {e}")))?;
            for (i, index, fields) in wanted {
                match list
                    .as_array_mut()
                    .and_then(|a| a.get_mut(*index as usize))
                    .and_then(serde_json::Value::as_object_mut)
                {
                    Some(element) => {
                        for (k, v) in *fields {
                            element.insert(k.clone(), v.clone());
                        }
                    }
                    None => {
                        refused.insert(
                            *i,
                            StoreError::Corrupt(format!("entry {id} has no attachment {index}")),
                        );
                    }
                }
            }
            let text = serde_json::to_string(&list)
                .map_err(|e| StoreError::Backend(format!("serialising JSON: {e}")))?;
            rewritten.push((*id, text));
        }
        if rewritten.is_empty() {
            continue;
        }
        let mut qb = QueryBuilder::<Db>::new("WITH v (eid, eattachments) AS (");
        qb.push_values(&rewritten, |mut b, (id, text)| {
            b.push_bind(*id).push_bind(text.clone());
        });
        qb.push(") UPDATE ticket_entries SET attachments = v.eattachments, updated_at = ")
            .push_bind(now)
            .push(" FROM v WHERE ticket_entries.id = v.eid AND ticket_entries.account_id = ")
            .push_bind(account.0);
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }

    Ok(refused)
}

/// Records one account's outcomes in `tx` with one statement per 200 for the downloads this
/// worker still holds, then one read and one write per 200 of the entries whose attachments
/// change. Each outcome gets its own result: [`StoreError::LeaseLost`] when its download is no
/// longer held by `worker`, [`StoreError::NotFound`] when its entry is gone,
/// [`StoreError::Corrupt`] when the entry has no such attachment. The caller must not commit
/// when any result is an error other than `LeaseLost` (that outcome's download was updated with
/// the others).
async fn finish_group(
    tx: &mut Transaction<'static, Db>,
    account: AccountId,
    worker: &str,
    finishes: &[&MediaFinish],
    now: OffsetDateTime,
) -> StoreResult<Vec<StoreResult<MediaDownload>>> {
    let now = millis(now);
    let mut held: HashMap<i64, MediaDownload> = HashMap::with_capacity(finishes.len());
    for chunk in finishes.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Db>::new(
            "WITH v (fid, fstate, fblob, fsize, fctype, ferror, fnext) AS (",
        );
        qb.push_values(chunk, |mut b, f| {
            let (state, blob, size, ctype, error, next) = match &f.outcome {
                MediaOutcome::Done {
                    blob_key,
                    size,
                    content_type,
                } => (
                    "done",
                    Some(blob_key.clone()),
                    Some(i64::try_from(*size).unwrap_or(i64::MAX)),
                    Some(content_type.clone()),
                    None,
                    None,
                ),
                MediaOutcome::Retry { error, retry_at } => (
                    "pending",
                    None,
                    None,
                    None,
                    Some(error.clone()),
                    Some(millis(*retry_at)),
                ),
                MediaOutcome::Failed { error } => {
                    ("failed", None, None, None, Some(error.clone()), None)
                }
            };
            b.push_bind(f.id.0)
                .push_bind(state)
                .push_bind(blob)
                .push_bind(size)
                .push_bind(ctype)
                .push_bind(error)
                .push_bind(next);
        });
        // A download done keeps its last error; one retried or failed keeps its file fields.
        qb.push(
            ") UPDATE media_downloads SET state = v.fstate, \
             blob_key = CASE WHEN v.fstate = 'done' THEN v.fblob ELSE blob_key END, \
             size = CASE WHEN v.fstate = 'done' THEN v.fsize ELSE size END, \
             content_type = CASE WHEN v.fstate = 'done' THEN v.fctype ELSE content_type END, \
             error = CASE WHEN v.fstate = 'done' THEN error ELSE v.ferror END, \
             next_attempt_at = CASE WHEN v.fstate = 'pending' THEN v.fnext ELSE next_attempt_at END, \
             locked_by = NULL, locked_until = NULL, updated_at = ",
        )
        .push_bind(now)
        .push(" FROM v WHERE media_downloads.id = v.fid AND media_downloads.account_id = ")
        .push_bind(account.0)
        .push(" AND media_downloads.state = 'downloading' AND media_downloads.locked_by = ")
        .push_bind(worker.to_owned())
        .push(format!(" RETURNING {MEDIA_COLUMNS}"));
        for row in qb.build().fetch_all(&mut **tx).await.map_err(db_err)? {
            let download = media_row(&row)?;
            held.insert(download.id.0, download);
        }
    }

    // The patches of the held downloads, in the order given.
    let patches: Vec<AttachmentPatch<'_>> = finishes
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let d = held.get(&f.id.0)?;
            Some((i, d.item.entry_id, d.item.attachment_index, &f.attachment_patch))
        })
        .collect();
    let mut refused = patch_attachments(tx, account, &patches, now).await?;
    Ok(finishes
        .iter()
        .enumerate()
        .map(|(i, f)| match refused.remove(&i) {
            Some(e) => Err(e),
            None => held.get(&f.id.0).cloned().ok_or(StoreError::LeaseLost),
        })
        .collect())
}

#[async_trait]
impl MediaStore for AdapterStore {
    async fn claim_media(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<MediaDownload>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = millis(now);
        let until = now.saturating_add(duration_millis(lease));
        // Two ordered scans of the due index, one per state, each stopping after `limit` rows:
        // plain index scans, which step over (and mark) the dead versions claims and outcomes
        // leave behind until autovacuum comes, where one scan for both states was planned as a
        // bitmap OR that reads them all.
        let mut qb = QueryBuilder::<Db>::new(
            "WITH due AS (SELECT id FROM media_downloads WHERE state = 'pending' AND next_attempt_at <= ",
        );
        qb.push_bind(now)
            .push(" ORDER BY next_attempt_at, id LIMIT ")
            .push_bind(i64::from(limit))
            .push(SKIP_LOCKED)
            .push(
                "), expired AS (SELECT id FROM media_downloads \
                 WHERE state = 'downloading' AND locked_until <= ",
            )
            .push_bind(now)
            .push(" ORDER BY next_attempt_at, id LIMIT ")
            .push_bind(i64::from(limit))
            .push(SKIP_LOCKED)
            .push(
                ") UPDATE media_downloads SET state = 'downloading', attempts = attempts + 1, \
                 locked_by = ",
            )
            .push_bind(worker.to_owned())
            .push(", locked_until = ")
            .push_bind(until)
            .push(
                " WHERE id IN (SELECT id FROM (SELECT id FROM due UNION ALL SELECT id FROM expired) \
                 AS c ORDER BY id LIMIT ",
            )
            .push_bind(i64::from(limit))
            .push(format!(") RETURNING {MEDIA_COLUMNS}"));
        let rows = qb
            .build()
            .fetch_all(self.write_pool())
            .await
            .map_err(db_err)?;
        let mut out = rows.iter().map(media_row).collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    async fn finish_media_batch(
        &self,
        worker: &str,
        finishes: &[MediaFinish],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<StoreResult<MediaDownload>>> {
        let accounts = self.media_accounts(finishes).await?;
        let mut results: Vec<StoreResult<MediaDownload>> = finishes
            .iter()
            .map(|_| Err(StoreError::LeaseLost))
            .collect();
        for (account, positions) in accounts {
            let group: Vec<&MediaFinish> = positions.iter().map(|&i| &finishes[i]).collect();
            let mut tx = self.begin_ticket_tx(account).await?;
            let outcome = finish_group(&mut tx, account, worker, &group, now).await;
            if let Ok(group) = &outcome
                && group
                    .iter()
                    .all(|r| matches!(r, Ok(_) | Err(StoreError::LeaseLost)))
            {
                tx.commit().await.map_err(db_err)?;
                for (i, r) in positions.into_iter().zip(outcome?) {
                    results[i] = r;
                }
                continue;
            }
            // One of them cannot be recorded: the others go one transaction each.
            tx.rollback().await.map_err(db_err)?;
            for i in positions {
                results[i] = async {
                    let mut tx = self.begin_ticket_tx(account).await?;
                    let r = finish_group(&mut tx, account, worker, &[&finishes[i]], now)
                        .await?
                        .pop()
                        .unwrap_or(Err(StoreError::LeaseLost))?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(r)
                }
                .await;
            }
        }
        Ok(results)
    }

    async fn media_for_attachment(
        &self,
        account: AccountId,
        entry: EntryId,
        attachment_index: u32,
    ) -> StoreResult<MediaDownload> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {MEDIA_COLUMNS} FROM media_downloads WHERE account_id = "
        ));
        qb.push_bind(account.0)
            .push(" AND entry_id = ")
            .push_bind(entry.0)
            .push(" AND attachment_index = ")
            .push_bind(i64::from(attachment_index));
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        media_row(&row)
    }

    async fn retry_media(
        &self,
        account: AccountId,
        id: MediaDownloadId,
        attachment_patch: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<MediaDownload> {
        let mut tx = self.begin_ticket_tx(account).await?;
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE media_downloads SET state = 'pending', attempts = 0, locked_by = NULL, \
             locked_until = NULL, next_attempt_at = ",
        );
        qb.push_bind(millis(now))
            .push(", updated_at = ")
            .push_bind(millis(now))
            .push(" WHERE id = ")
            .push_bind(id.0)
            .push(" AND account_id = ")
            .push_bind(account.0)
            .push(" AND state IN ('failed', 'done')")
            .push(format!(" RETURNING {MEDIA_COLUMNS}"));
        let updated = qb
            .build()
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let download = match updated {
            Some(row) => {
                let download = media_row(&row)?;
                let patch = (
                    0,
                    download.item.entry_id,
                    download.item.attachment_index,
                    attachment_patch,
                );
                let refused = patch_attachments(&mut tx, account, &[patch], millis(now)).await?;
                if let Some(e) = refused.into_values().next() {
                    return Err(e);
                }
                download
            }
            None => {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {MEDIA_COLUMNS} FROM media_downloads WHERE id = "
                ));
                qb.push_bind(id.0)
                    .push(" AND account_id = ")
                    .push_bind(account.0);
                let row = qb
                    .build()
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                media_row(&row)?
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(download)
    }

    async fn url_signing_key(&self, candidate: &str) -> StoreResult<String> {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO media_settings (id, url_signing_key) VALUES (1, ",
        );
        qb.push_bind(candidate.to_owned())
            .push(") ON CONFLICT (id) DO NOTHING");
        qb.build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        let row = sqlx::query("SELECT url_signing_key FROM media_settings WHERE id = 1")
            .fetch_one(self.write_pool())
            .await
            .map_err(db_err)?;
        col(&row, "url_signing_key")
    }
}
