// expect: length O(n)
function length(head) {
  let n = 0;
  let node = head;
  while (node !== null) {
    n++;
    node = node.next;
  }
  return n;
}
