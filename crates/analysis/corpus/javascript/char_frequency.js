// expect: frequencies O(n)
function frequencies(s) {
  const freq = {};
  for (const ch of s) freq[ch] = (freq[ch] || 0) + 1;
  return freq;
}
