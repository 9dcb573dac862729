"""What the owner's console reads and writes beyond the public API's stores: customers' ratings, the
questions left unanswered, the owner's own answers, and activity per conversation and per company."""
