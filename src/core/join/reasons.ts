/** merge's reasons for a row without an explanation, as `resubmit`, `run` and `report` sort them. */

/** Reasons a row may be sent again for (`resubmit`'s default): every failure but these (`not_json`: a line that is no row). */
export const NOT_RESUBMITTED = ['not_sent', 'duplicate_id', 'pending', 'not_json'];
/** Failures that another try may well fix (`run --max-rounds`): transient API errors, expiry, lost lines. */
export const RETRYABLE = ['api_error', 'batch_expired', 'request_error', 'no_result'];
