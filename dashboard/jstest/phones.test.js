// The search of the grid of handsets (static/phones.js): a number is
// found however the API would take it written.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { searchDigits } from '../static/phones.js';

describe('searchDigits', () => {
  it('keeps the digits of a number or a part of one', () => {
    assert.equal(searchDigits('139 0000 0399'), '13900000399');
    assert.equal(searchDigits('0399'), '0399');
    assert.equal(searchDigits('  '), '');
  });
  it('leaves out the country code +86, or 86 before eleven digits', () => {
    assert.equal(searchDigits('+86 139-0000-0399'), '13900000399');
    assert.equal(searchDigits('+8613900000399'), '13900000399');
    assert.equal(searchDigits('8613900000399'), '13900000399');
  });
  it('keeps an 86 that is part of the number', () => {
    assert.equal(searchDigits('860'), '860');
    assert.equal(searchDigits('13986000000'), '13986000000');
  });
});
