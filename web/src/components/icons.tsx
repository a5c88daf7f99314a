/** The few icons the app uses, inline so nothing is fetched. */
const base = { width: 16, height: 16, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 2, strokeLinecap: 'round', strokeLinejoin: 'round', 'aria-hidden': true } as const;

export const IconLink = () => (
  <svg {...base}>
    <path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7" />
    <path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7" />
  </svg>
);
export const IconSun = () => (
  <svg {...base}>
    <circle cx="12" cy="12" r="4" />
    <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
  </svg>
);
export const IconMoon = () => (
  <svg {...base}>
    <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
  </svg>
);
export const IconKeyboard = () => (
  <svg {...base}>
    <rect x="2" y="6" width="20" height="12" rx="2" />
    <path d="M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10" />
  </svg>
);
export const IconPlus = () => (
  <svg {...base}>
    <path d="M12 5v14M5 12h14" />
  </svg>
);
export const IconX = () => (
  <svg {...base} width={14} height={14}>
    <path d="M18 6 6 18M6 6l12 12" />
  </svg>
);
export const IconPencil = () => (
  <svg {...base} width={14} height={14}>
    <path d="M17 3a2.8 2.8 0 0 1 4 4L7.5 20.5 2 22l1.5-5.5z" />
  </svg>
);
export const IconReplay = () => (
  <svg {...base}>
    <path d="M3 12a9 9 0 1 0 3-6.7" />
    <path d="M3 4v5h5" />
    <path d="M10 9l5 3-5 3z" />
  </svg>
);
export const IconPlay = () => (
  <svg {...base} fill="currentColor" stroke="none">
    <path d="M7 4.5v15a1 1 0 0 0 1.5.86l12-7.5a1 1 0 0 0 0-1.72l-12-7.5A1 1 0 0 0 7 4.5z" />
  </svg>
);
export const IconPause = () => (
  <svg {...base} fill="currentColor" stroke="none">
    <rect x="6" y="4" width="4" height="16" rx="1" />
    <rect x="14" y="4" width="4" height="16" rx="1" />
  </svg>
);
export const IconPrevMarker = () => (
  <svg {...base}>
    <path d="M5 5v14" />
    <path d="M19 5 9 12l10 7z" fill="currentColor" />
  </svg>
);
export const IconNextMarker = () => (
  <svg {...base}>
    <path d="M19 5v14" />
    <path d="M5 5l10 7-10 7z" fill="currentColor" />
  </svg>
);
/** The marker glyphs of the replay timeline, 10 px. */
const small = { ...base, width: 10, height: 10, strokeWidth: 3 } as const;
export const MarkerGlyph = ({ kind }: { kind: string }) => {
  switch (kind) {
    case 'run':
      return (
        <svg {...small} fill="currentColor" stroke="none">
          <path d="M6 3v18l15-9z" />
        </svg>
      );
    case 'join':
      return (
        <svg {...small}>
          <path d="M12 4v16M4 12h16" />
        </svg>
      );
    case 'leave':
      return (
        <svg {...small}>
          <path d="M4 12h16" />
        </svg>
      );
    case 'paste':
      return (
        <svg {...small} strokeWidth={2.5}>
          <rect x="5" y="4" width="14" height="17" rx="2" />
          <path d="M9 3h6v3H9z" fill="currentColor" />
        </svg>
      );
    default:
      return (
        <svg {...small} fill="currentColor" stroke="none">
          <circle cx="12" cy="12" r="6" />
        </svg>
      );
  }
};
export const Logo = () => (
  <svg width="22" height="22" viewBox="0 0 32 32" aria-hidden="true">
    <rect width="32" height="32" rx="7" fill="var(--accent)" />
    <path d="M12 10l-6 6 6 6M20 10l6 6-6 6" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
  </svg>
);
export const IconLock = () => (
  <svg {...base}>
    <rect x="4" y="11" width="16" height="10" rx="2" />
    <path d="M8 11V7a4 4 0 0 1 8 0v4" />
  </svg>
);
export const IconGlobe = () => (
  <svg {...base}>
    <circle cx="12" cy="12" r="9" />
    <path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18" />
  </svg>
);
export const IconTrash = () => (
  <svg {...base}>
    <path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3" />
  </svg>
);
export const IconEye = () => (
  <svg {...base}>
    <path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z" />
    <circle cx="12" cy="12" r="3" />
  </svg>
);
