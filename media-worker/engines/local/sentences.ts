/** Longest text spoken as one piece when no sentence end comes (keeps the first audio early). */
const MAX_PIECE_CHARS = 160;

/**
 * Cuts streamed text into sentences as they complete, so speech can start on the first one.
 * Pure: push text deltas, take the sentences they complete; flush() returns the rest.
 */
export class SentenceSplitter {
  private buffer = "";

  push(delta: string): string[] {
    this.buffer += delta;
    const out: string[] = [];
    for (;;) {
      // A sentence ends at . ! ? (and closing quotes) followed by white space, or at a line break.
      const m = /[.!?]+["')\]]*\s|\n/.exec(this.buffer);
      if (m) {
        const end = m.index + m[0].length;
        this.emit(out, this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end);
        continue;
      }
      if (this.buffer.length <= MAX_PIECE_CHARS) break;
      const cut = Math.max(this.buffer.lastIndexOf(", ", MAX_PIECE_CHARS), this.buffer.lastIndexOf(" ", MAX_PIECE_CHARS));
      const end = cut > 0 ? cut + 1 : MAX_PIECE_CHARS;
      this.emit(out, this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end);
    }
    return out;
  }

  flush(): string[] {
    const out: string[] = [];
    this.emit(out, this.buffer);
    this.buffer = "";
    return out;
  }

  private emit(out: string[], piece: string): void {
    const text = piece.replace(/\s+/g, " ").trim();
    if (/[\p{L}\p{N}]/u.test(text)) out.push(text);
  }
}
