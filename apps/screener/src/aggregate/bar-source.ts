/** Which records make the bars: trade prints, or quote mids (legacy/rollback mode). */
export type BarSource = 'trades' | 'mbp-1';
