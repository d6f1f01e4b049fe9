"""Claims documents in; audit trails, PROV-JSON and ClaimReview out."""
