// The page's wording that people read: receipts and the presence line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presenceLine, receiptText } from '../src/ui.js';

test('receipts name people and count the rest, never "someone"', () => {
  assert.equal(receiptText(['Alice'], 0), 'Read by Alice');
  assert.equal(receiptText(['Alice', 'Bob'], 0), 'Read by Alice and Bob');
  assert.equal(receiptText(['Alice', 'Bob', 'Cy'], 0), 'Read by Alice, Bob and Cy');
  assert.equal(receiptText(['Alice', 'Bob', 'Cy', 'Di'], 0), 'Read by Alice, Bob and 2 others');
  assert.equal(receiptText(['Alice', 'Bob'], 2), 'Read by Alice, Bob and 2 others');
  assert.equal(receiptText(['Alice'], 1), 'Read by Alice and 1 other');
  assert.equal(receiptText([], 1), 'Read by 1 person');
  assert.equal(receiptText([], 3), 'Read by 3 people');
  for (const text of [receiptText([], 1), receiptText(['A'], 5)]) assert.doesNotMatch(text, /someone/);
});

test('the presence line reads naturally and stays short', () => {
  assert.equal(presenceLine([]), 'Only you are here');
  assert.equal(presenceLine(['Alice']), 'Alice and you');
  assert.equal(presenceLine(['Alice', 'Bob']), 'Alice, Bob and you');
  assert.equal(presenceLine(['Alice', 'Bob', 'Cy']), 'Alice, Bob, 1 other and you');
  assert.equal(presenceLine(['Alice', 'Bob', 'Cy', 'Di', 'Ed']), 'Alice, Bob, 3 others and you');
});
