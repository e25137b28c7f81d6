// The seven icons JSONForms' Material renderers import from
// @mui/icons-material, drawn here as small inline SVG paths of our own (the
// icon pack is megabytes; build.mjs aliases the package to this file).
import { createSvgIcon } from '@mui/material/utils';

const icon = (d, name) => createSvgIcon(<path d={d} />, name);

export const Add = icon('M11 4h2v7h7v2h-7v7h-2v-7H4v-2h7z', 'Add');
export const Close = icon('M5.6 4.2 12 10.6l6.4-6.4 1.4 1.4-6.4 6.4 6.4 6.4-1.4 1.4-6.4-6.4-6.4 6.4-1.4-1.4 6.4-6.4-6.4-6.4z', 'Close');
export const Delete = icon('M8 3h8v2h4v2H4V5h4zM6 8h12l-1 13H7z', 'Delete');
export const ArrowUpward = icon('M11 20V8l-5 5-1.4-1.4L12 4.2l7.4 7.4L18 13l-5-5v12z', 'ArrowUpward');
export const ArrowDownward = icon('M13 4v12l5-5 1.4 1.4-7.4 7.4-7.4-7.4L6 11l5 5V4z', 'ArrowDownward');
export const ExpandMore = icon('M5.4 8.6 12 15.2l6.6-6.6L20 10l-8 8-8-8z', 'ExpandMore');
export const ErrorOutline = icon('M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16zm-1 3h2v7h-2zm0 8h2v2h-2z', 'ErrorOutline');
