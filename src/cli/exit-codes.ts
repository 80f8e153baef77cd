/** Exit code of a command that did what it could but not everything (ingest: unreadable frames; migrate: a full tier; recall: data still being restored). */
export const EXIT_PARTIAL = 3;
