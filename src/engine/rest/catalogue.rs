//! The session's live cmdlet catalogue: `GET <endpoint>/AdminApi/v1.0/<tenant>/EXOModuleFile`
//! (reference page §7) through the same request path as a page (redirects, token, pacing,
//! cookies), parsed by `model::catalogue`.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::request::{PageCall, TokenSlot};
use super::{CmdletRequest, RestClient, RestError, RestErrorKind};
use crate::model::catalogue::CmdletCatalogue;

impl RestClient {
    /// Fetches and parses the catalogue of the cmdlets this account may run here.
    pub async fn fetch_catalogue(self: &Arc<Self>) -> Result<CmdletCatalogue, RestError> {
        const WHAT: &str = "EXOModuleFile";
        let token = self.get_token(WHAT, false).await?;
        let invoke = self.first_url(&CmdletRequest::new(WHAT), &token)?;
        let mut url = invoke.clone();
        let path = invoke
            .path()
            .replace("/adminapi/beta/", "/AdminApi/v1.0/")
            .replace("/InvokeCommand", "/EXOModuleFile");
        url.set_path(&path);
        url.set_query(None);
        let call = PageCall {
            cmdlet: WHAT.into(),
            body: Vec::new().into(),
            page_size: self.page_size(None),
            is_next_link: false,
            use_get: true,
            want_rows: None,
            first_attempt: 1,
            continue_on_error: false,
        };
        let (tx, _rx) = mpsc::channel(64);
        let slot = TokenSlot::new(token);
        let fetched = self.page(&call, &url, &slot, &mut None, &tx).await?;
        CmdletCatalogue::from_module_file(&fetched.body).map_err(|m| RestError {
            status: Some(fetched.status),
            request_id: fetched.request_id.clone(),
            ..RestError::new(RestErrorKind::Protocol, WHAT, m)
        })
    }
}
