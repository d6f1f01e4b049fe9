"""Tests of the RFC 6962 Merkle tree behind checkpoints and proofs.

Published Certificate Transparency vectors (transparency-dev/merkle, formerly trillian: the
``testonly`` leaves, node and root hashes, and the ``proof`` package's inclusion and consistency
vectors) pin the hashing, prefixes and split rule to the standard, so that other people's tools
agree with ours. Property tests then compare the module with a deliberately naive, recursive
transcription of RFC 6962 written here, using hashlib directly, and check that tampering with any
part of a proof makes it fail.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from claims.domain.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    event_leaf_hash,
    event_leaves,
    from_hex,
    inclusion_proof,
    leaf_hash,
    node_hash,
    packed_root,
    root,
    to_hex,
    unpacked,
    verify_consistency,
    verify_inclusion,
)

# --------------------------------------------------------------------------------------------------
# Published vectors
# --------------------------------------------------------------------------------------------------

LEAF_DATA = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
LEAVES = [leaf_hash(data) for data in LEAF_DATA]

# testonly.NodeHashes()[0]: the leaf hashes of LEAF_DATA.
PUBLISHED_LEAF_HASHES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]

# testonly.RootHashes(): the root over the first n leaves, n = 0..8.
PUBLISHED_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# proof/verify_test.go inclusionProofs, with the 1-based leaf numbers made 0-based indices.
PUBLISHED_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# proof/verify_test.go consistencyProofs: (old size, new size, proof).
PUBLISHED_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def published_root(size: int) -> bytes:
    return bytes.fromhex(PUBLISHED_ROOTS[size])


def unhex_all(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(element) for element in proof]


# --------------------------------------------------------------------------------------------------
# An independent, naive transcription of RFC 6962 section 2.1 (hashlib only, recursive, slow)
# --------------------------------------------------------------------------------------------------


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes, exactly as the RFC's recursive definition reads."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = ref_split(len(hashes))
    return ref_node(ref_mth(hashes[:k]), ref_mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = ref_split(len(hashes))
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [ref_mth(hashes)]
    k = ref_split(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], whole), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def inclusion_shape(index: int, size: int) -> list[str]:
    """On which side each element of PATH(index, D[size]) is hashed in; nothing else matters."""
    if size == 1:
        return []
    k = ref_split(size)
    if index < k:
        return [*inclusion_shape(index, k), "right"]
    return [*inclusion_shape(index - k, size - k), "left"]


def consistency_shape(m: int, n: int, whole: bool = True) -> list[str]:
    """How a verifier consumes PROOF(m, D[n]): its explicit start, if any, then each side."""
    if m == n:
        return [] if whole else ["start"]
    k = ref_split(n)
    if m <= k:
        return [*consistency_shape(m, k, whole), "right"]
    return [*consistency_shape(m - k, n - k, False), "left"]


def flip(proof: list[bytes], element: int, position: int, mask: int) -> list[bytes]:
    tampered = list(proof)
    changed = bytearray(tampered[element])
    changed[position % len(changed)] ^= mask
    tampered[element] = bytes(changed)
    return tampered


# --------------------------------------------------------------------------------------------------
# Hashing and roots against the published vectors
# --------------------------------------------------------------------------------------------------


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == published_root(0)
    assert MerkleAccumulator().root() == EMPTY_ROOT


def test_leaf_hashes_match_the_published_ones() -> None:
    assert [leaf.hex() for leaf in LEAVES] == PUBLISHED_LEAF_HASHES


def test_node_hash_prefixes_one_and_keeps_the_order() -> None:
    assert node_hash(LEAVES[0], LEAVES[1]) == published_root(2)
    assert node_hash(LEAVES[1], LEAVES[0]) != published_root(2)


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix_matches_the_published_root(size: int) -> None:
    assert root(LEAVES[:size]) == published_root(size)


def test_the_full_reference_tree_has_the_published_root() -> None:
    assert to_hex(root(LEAVES)) == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_accumulator_reaches_every_published_root_as_leaves_arrive() -> None:
    accumulator = MerkleAccumulator()
    for size, leaf in enumerate(LEAVES, start=1):
        accumulator.append(leaf)
        assert accumulator.size == size
        assert accumulator.root() == published_root(size)


def test_reference_implementation_agrees_with_the_published_roots() -> None:
    # The brute force below is what the property tests trust, so it is held to the standard too.
    for size in range(9):
        assert ref_mth(LEAVES[:size]) == published_root(size)


# --------------------------------------------------------------------------------------------------
# Proofs against the published vectors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size", "proof_hex"), PUBLISHED_INCLUSION)
def test_published_inclusion_proofs_are_generated_and_verify(index: int, size: int, proof_hex: list[str]) -> None:
    proof = unhex_all(proof_hex)
    assert inclusion_proof(LEAVES[:size], index) == proof
    assert verify_inclusion(LEAVES[index], index, size, proof, published_root(size))


@pytest.mark.parametrize(("old_size", "new_size", "proof_hex"), PUBLISHED_CONSISTENCY)
def test_published_consistency_proofs_are_generated_and_verify(
    old_size: int, new_size: int, proof_hex: list[str]
) -> None:
    proof = unhex_all(proof_hex)
    assert consistency_proof(LEAVES[:new_size], old_size) == proof
    assert verify_consistency(old_size, new_size, published_root(old_size), published_root(new_size), proof)


@pytest.mark.parametrize(("index", "size", "proof_hex"), [v for v in PUBLISHED_INCLUSION if v[2]])
def test_corrupted_published_inclusion_proofs_fail(index: int, size: int, proof_hex: list[str]) -> None:
    # The probes of transparency-dev/merkle's corruptInclusionProof.
    proof = unhex_all(proof_hex)
    good_root, leaf = published_root(size), LEAVES[index]
    probes: dict[str, tuple[bytes, int, int, list[bytes], bytes]] = {
        "index - 1": (leaf, index - 1, size, proof, good_root),
        "index + 1": (leaf, index + 1, size, proof, good_root),
        "index ^ 2": (leaf, index ^ 2, size, proof, good_root),
        "size * 2": (leaf, index, size * 2, proof, good_root),
        "size // 2": (leaf, index, size // 2, proof, good_root),
        "wrong leaf": (b"WrongLeaf", index, size, proof, good_root),
        "other leaf": (SOME_HASH, index, size, proof, good_root),
        "empty root": (leaf, index, size, proof, EMPTY_ROOT),
        "random root": (leaf, index, size, proof, SOME_HASH),
        "trailing garbage": (leaf, index, size, [*proof, b""], good_root),
        "trailing root": (leaf, index, size, [*proof, good_root], good_root),
        "preceding garbage": (leaf, index, size, [b"", *proof], good_root),
        "preceding root": (leaf, index, size, [good_root, *proof], good_root),
        "removed component": (leaf, index, size, proof[:-1], good_root),
        "inserted component": (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], good_root),
    }
    for element in range(len(proof)):
        probes[f"proof[{element}] bit 3"] = (leaf, index, size, flip(proof, element, 0, 8), good_root)
    verified = [name for name, probe in probes.items() if verify_inclusion(*probe)]
    assert verified == []


@pytest.mark.parametrize(("old_size", "new_size", "proof_hex"), [v for v in PUBLISHED_CONSISTENCY if v[2]])
def test_corrupted_published_consistency_proofs_fail(old_size: int, new_size: int, proof_hex: list[str]) -> None:
    # The probes of transparency-dev/merkle's corruptConsistencyProof.
    proof = unhex_all(proof_hex)
    m, n, r1, r2 = old_size, new_size, published_root(old_size), published_root(new_size)
    probes: dict[str, tuple[int, int, bytes, bytes, list[bytes]]] = {
        "old - 1": (m - 1, n, r1, r2, proof),
        "old + 1": (m + 1, n, r1, r2, proof),
        "old ^ 2": (m ^ 2, n, r1, r2, proof),
        "new * 2": (m, n * 2, r1, r2, proof),
        "new // 2": (m, n // 2, r1, r2, proof),
        "wrong old root": (m, n, b"WrongRoot", r2, proof),
        "wrong new root": (m, n, r1, b"WrongRoot", proof),
        "other old root": (m, n, SOME_HASH, r2, proof),
        "other new root": (m, n, r1, SOME_HASH, proof),
        "swapped roots": (m, n, r2, r1, proof),
        "empty proof": (m, n, r1, r2, []),
        "trailing garbage": (m, n, r1, r2, [*proof, b""]),
        "trailing old root": (m, n, r1, r2, [*proof, r1]),
        "trailing new root": (m, n, r1, r2, [*proof, r2]),
        "preceding garbage": (m, n, r1, r2, [b"", *proof]),
        "preceding old root": (m, n, r1, r2, [r1, *proof]),
        "preceding new root": (m, n, r1, r2, [r2, *proof]),
        "preceding proof[0]": (m, n, r1, r2, [proof[0], *proof]),
        "truncated": (m, n, r1, r2, proof[:-1]),
    }
    for element in range(len(proof)):
        probes[f"proof[{element}] bit 4"] = (m, n, r1, r2, flip(proof, element, 0, 16))
    verified = [name for name, probe in probes.items() if verify_consistency(*probe)]
    assert verified == []


def test_every_inclusion_proof_in_every_prefix_of_the_reference_tree_verifies() -> None:
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof(LEAVES[:size], index)
            assert proof == ref_path(index, LEAVES[:size]), (index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, published_root(size)), (index, size)


def test_every_consistency_proof_between_prefixes_of_the_reference_tree_verifies() -> None:
    for new_size in range(1, 9):
        for old_size in range(1, new_size + 1):
            proof = consistency_proof(LEAVES[:new_size], old_size)
            assert proof == ref_subproof(old_size, LEAVES[:new_size], True), (old_size, new_size)
            assert verify_consistency(old_size, new_size, published_root(old_size), published_root(new_size), proof), (
                old_size,
                new_size,
            )


# --------------------------------------------------------------------------------------------------
# Edges and bad arguments
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [-1, 8, 9])
def test_inclusion_proof_refuses_an_index_outside_the_tree(index: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(LEAVES, index)


def test_inclusion_proof_refuses_the_empty_tree() -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof([], 0)


@pytest.mark.parametrize("old_size", [0, -1])
def test_consistency_proof_refuses_an_old_size_below_one(old_size: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        consistency_proof(LEAVES, old_size)


def test_consistency_proof_refuses_an_old_size_above_the_tree() -> None:
    with pytest.raises(ValueError, match="larger"):
        consistency_proof(LEAVES[:5], 6)


def test_consistency_proof_from_a_size_to_itself_is_empty() -> None:
    assert consistency_proof(LEAVES, 8) == []
    assert verify_consistency(8, 8, published_root(8), published_root(8), [])
    assert not verify_consistency(8, 8, published_root(8), published_root(7), [])
    assert not verify_consistency(8, 8, published_root(8), published_root(8), [published_root(8)])


def test_consistency_from_the_empty_tree_needs_no_proof_but_the_empty_root() -> None:
    assert verify_consistency(0, 5, EMPTY_ROOT, published_root(5), [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 5, SOME_HASH, published_root(5), [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, published_root(5), [EMPTY_ROOT])


@pytest.mark.parametrize(("old_size", "new_size"), [(2, 1), (1, 0), (-1, 3), (-2, -1)])
def test_consistency_verification_of_impossible_sizes_fails(old_size: int, new_size: int) -> None:
    assert not verify_consistency(old_size, new_size, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(old_size, new_size, SOME_HASH, SOME_HASH, [SOME_HASH])


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1)])
def test_inclusion_verification_outside_the_tree_fails(index: int, size: int) -> None:
    assert not verify_inclusion(SOME_HASH, index, size, [], SOME_HASH)
    assert not verify_inclusion(LEAVES[0], index, size, [], LEAVES[0])


def test_a_single_leaf_is_its_own_root() -> None:
    assert verify_inclusion(LEAVES[3], 0, 1, [], LEAVES[3])
    assert not verify_inclusion(LEAVES[3], 0, 1, [], LEAVES[4])
    assert not verify_inclusion(b"", 0, 1, [], b"")


def test_inclusion_proofs_do_not_bind_the_size_when_the_path_has_the_same_shape() -> None:
    # RFC 9162 verification trusts the size that came with the signed root: leaf 0's proof in the
    # 3-leaf tree has the same shape as one in a 4-leaf tree, so it checks against size 4 as well.
    proof = inclusion_proof(LEAVES[:3], 0)
    assert inclusion_shape(0, 3) == inclusion_shape(0, 4)
    assert verify_inclusion(LEAVES[0], 0, 4, proof, published_root(3))
    assert not verify_inclusion(LEAVES[0], 0, 5, proof, published_root(3))


# --------------------------------------------------------------------------------------------------
# Hex helpers and the event leaf
# --------------------------------------------------------------------------------------------------


def test_hex_round_trip() -> None:
    assert from_hex(PUBLISHED_ROOTS[8]) == published_root(8)
    assert to_hex(published_root(8)) == PUBLISHED_ROOTS[8]
    assert from_hex(PUBLISHED_ROOTS[8].upper()) == published_root(8)


@pytest.mark.parametrize("text", ["", "ab", PUBLISHED_ROOTS[8][:-2], PUBLISHED_ROOTS[8] + "00", "zz" * 32])
def test_from_hex_refuses_anything_but_one_digest(text: str) -> None:
    with pytest.raises(ValueError):
        from_hex(text)


def test_event_leaf_hashes_the_raw_bytes_of_the_event_hash() -> None:
    event_hash = hashlib.sha256(b"some event").hexdigest()
    assert event_leaf_hash(event_hash) == hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()
    assert event_leaf_hash(event_hash) != hashlib.sha256(b"\x00" + event_hash.encode()).digest()
    with pytest.raises(ValueError):
        event_leaf_hash(event_hash[:-2])


def test_event_leaves_packs_the_leaf_of_each_event_hash_in_order() -> None:
    hashes = [hashlib.sha256(bytes([i])).hexdigest() for i in range(5)]
    assert event_leaves(hashes) == b"".join(event_leaf_hash(h) for h in hashes)
    assert event_leaves([]) == b""
    with pytest.raises(ValueError):
        event_leaves([hashes[0], hashes[1][:-2]])


@given(st.integers(min_value=0, max_value=300))
def test_the_root_of_packed_leaves_is_the_reference_root(size: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    assert packed_root(b"".join(leaves)) == ref_mth(leaves)
    assert unpacked(b"".join(leaves)) == leaves


def test_packed_leaves_must_be_whole_digests() -> None:
    with pytest.raises(ValueError):
        packed_root(b"x" * 33)


@given(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=200))
def test_perfect_subtrees_appended_at_once_give_the_root_of_their_leaves_one_by_one(height: int, tail: int) -> None:
    # What a checkpoint does: each full page of leaves as one subtree, then the last page leaf by leaf.
    block = 1 << height
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(3 * block + tail)]
    accumulator = MerkleAccumulator()
    for start in range(0, 3 * block, block):
        accumulator.append_subtree(packed_root(b"".join(leaves[start : start + block])), height)
    for leaf in leaves[3 * block :]:
        accumulator.append(leaf)
    assert accumulator.size == len(leaves)
    assert accumulator.root() == ref_mth(leaves)


def test_a_subtree_that_would_not_be_a_node_of_the_tree_is_refused() -> None:
    accumulator = MerkleAccumulator()
    accumulator.append(SOME_HASH)
    with pytest.raises(ValueError):
        accumulator.append_subtree(SOME_HASH, 1)  # two leaves after one: not a node of any tree
    with pytest.raises(ValueError):
        accumulator.append_subtree(b"short", 0)
    assert accumulator.size == 1


# --------------------------------------------------------------------------------------------------
# The accumulator's state
# --------------------------------------------------------------------------------------------------


def test_accumulator_keeps_one_hash_per_set_bit_of_its_size() -> None:
    accumulator = MerkleAccumulator()
    for size in range(1, 300):
        accumulator.append(hashlib.sha256(size.to_bytes(4, "big")).digest())
        assert len(accumulator.frontier) == size.bit_count()


def test_accumulator_refuses_a_leaf_that_is_not_a_digest() -> None:
    accumulator = MerkleAccumulator()
    with pytest.raises(ValueError):
        accumulator.append(b"short")
    assert accumulator.size == 0


@pytest.mark.parametrize(("size", "frontier"), [(3, [SOME_HASH]), (-1, []), (4, [SOME_HASH, SOME_HASH]), (1, [b"x"])])
def test_accumulator_refuses_to_resume_from_an_impossible_state(size: int, frontier: list[bytes]) -> None:
    with pytest.raises(ValueError):
        MerkleAccumulator.resume(size, frontier)


def test_a_million_leaves_streamed_through_the_accumulator() -> None:
    # Nothing may recurse per leaf or per level beyond log n, and the streamed root must not
    # need the leaves in memory: the generator is consumed once and the frontier stays tiny.
    size = 1_000_003
    accumulator = MerkleAccumulator()
    accumulator.extend(i.to_bytes(32, "big") for i in range(size))
    assert accumulator.size == size
    assert len(accumulator.frontier) == size.bit_count()

    leaves = [i.to_bytes(32, "big") for i in range(size)]
    big_root = root(leaves)
    assert accumulator.root() == big_root

    for index in (0, size - 2):
        proof = inclusion_proof(leaves, index)
        assert len(proof) == len(inclusion_shape(index, size))
        assert index > 0 or len(proof) == (size - 1).bit_length() == 20
        assert verify_inclusion(leaves[index], index, size, proof, big_root)
        assert not verify_inclusion(leaves[index], index + 1, size, proof, big_root)

    old_size = 2**19 + 3
    old_root = root(leaves[:old_size])
    consistency = consistency_proof(leaves, old_size)
    assert verify_consistency(old_size, size, old_root, big_root, consistency)
    assert not verify_consistency(old_size + 1, size, old_root, big_root, consistency)


# --------------------------------------------------------------------------------------------------
# Properties over random trees
# --------------------------------------------------------------------------------------------------

leaf_lists = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True)
digests = st.binary(min_size=32, max_size=32)


@given(leaf_lists)
def test_root_equals_the_naive_recursive_definition(leaves: list[bytes]) -> None:
    assert root(leaves) == ref_mth(leaves)


@given(leaf_lists)
def test_accumulator_root_equals_root_at_every_prefix(leaves: list[bytes]) -> None:
    accumulator = MerkleAccumulator()
    for size, leaf in enumerate(leaves, start=1):
        accumulator.append(leaf)
        assert accumulator.root() == root(leaves[:size])


@given(leaf_lists, st.data())
def test_accumulator_resumed_from_its_frontier_carries_on(leaves: list[bytes], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(leaves)), label="cut")
    first = MerkleAccumulator()
    first.extend(leaves[:cut])
    resumed = MerkleAccumulator.resume(first.size, first.frontier)
    resumed.extend(leaves[cut:])
    assert resumed.size == len(leaves)
    assert resumed.root() == ref_mth(leaves)


@given(leaf_lists, st.data())
def test_inclusion_proofs_match_the_rfc_and_verify(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1), label="index")
    proof = inclusion_proof(leaves, index)
    assert proof == ref_path(index, leaves)
    assert verify_inclusion(leaves[index], index, len(leaves), proof, ref_mth(leaves))


@given(leaf_lists, st.data())
def test_consistency_proofs_match_the_rfc_and_verify(leaves: list[bytes], data: st.DataObject) -> None:
    old_size = data.draw(st.integers(1, len(leaves)), label="old_size")
    proof = consistency_proof(leaves, old_size)
    assert proof == ref_subproof(old_size, leaves, True)
    assert verify_consistency(old_size, len(leaves), ref_mth(leaves[:old_size]), ref_mth(leaves), proof)


@given(leaf_lists, st.data())
def test_tampered_inclusion_proofs_fail(leaves: list[bytes], data: st.DataObject) -> None:
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof, good_root, leaf = inclusion_proof(leaves, index), root(leaves), leaves[index]

    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        position = data.draw(st.integers(0, 31), label="position")
        mask = data.draw(st.integers(1, 255), label="mask")
        assert not verify_inclusion(leaf, index, size, flip(proof, element, position, mask), good_root)
        assert not verify_inclusion(leaf, index, size, proof[:-1], good_root)
    assert not verify_inclusion(leaf, index, size, [*proof, good_root], good_root)

    wrong_index = data.draw(st.integers(-2, size + 2).filter(lambda i: i != index), label="wrong_index")
    assert not verify_inclusion(leaf, wrong_index, size, proof, good_root)

    other_leaf = data.draw(digests.filter(lambda d: d != leaf), label="other_leaf")
    assert not verify_inclusion(other_leaf, index, size, proof, good_root)

    wrong_root = data.draw(digests.filter(lambda d: d != good_root), label="wrong_root")
    assert not verify_inclusion(leaf, index, size, proof, wrong_root)

    # A wrong size is caught exactly when it changes the shape of the path (see the test above).
    wrong_size = data.draw(st.integers(0, 2 * size + 2).filter(lambda n: n != size), label="wrong_size")
    same_shape = index < wrong_size and inclusion_shape(index, wrong_size) == inclusion_shape(index, size)
    assert verify_inclusion(leaf, index, wrong_size, proof, good_root) == same_shape


@given(leaf_lists, st.data())
def test_tampered_consistency_proofs_fail(leaves: list[bytes], data: st.DataObject) -> None:
    new_size = len(leaves)
    assume(new_size >= 2)
    old_size = data.draw(st.integers(1, new_size - 1), label="old_size")
    proof = consistency_proof(leaves, old_size)
    old_root, new_root = root(leaves[:old_size]), root(leaves)
    assert proof

    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    position = data.draw(st.integers(0, 31), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    tampered = flip(proof, element, position, mask)
    assert not verify_consistency(old_size, new_size, old_root, new_root, tampered)
    assert not verify_consistency(old_size, new_size, old_root, new_root, proof[:-1])
    assert not verify_consistency(old_size, new_size, old_root, new_root, [*proof, new_root])
    assert not verify_consistency(old_size, new_size, new_root, old_root, proof)

    wrong_old_root = data.draw(digests.filter(lambda d: d != old_root), label="wrong_old_root")
    assert not verify_consistency(old_size, new_size, wrong_old_root, new_root, proof)
    wrong_new_root = data.draw(digests.filter(lambda d: d != new_root), label="wrong_new_root")
    assert not verify_consistency(old_size, new_size, old_root, wrong_new_root, proof)

    # As with inclusion, a wrong size slips through only where the proof would have the same shape.
    wrong_old = data.draw(st.integers(-1, new_size + 1).filter(lambda m: m != old_size), label="wrong_old")
    same_shape = 0 < wrong_old < new_size and consistency_shape(wrong_old, new_size) == consistency_shape(
        old_size, new_size
    )
    assert verify_consistency(wrong_old, new_size, old_root, new_root, proof) == same_shape

    wrong_new = data.draw(st.integers(0, 2 * new_size + 2).filter(lambda n: n != new_size), label="wrong_new")
    same_shape = old_size < wrong_new and consistency_shape(old_size, wrong_new) == consistency_shape(
        old_size, new_size
    )
    assert verify_consistency(old_size, wrong_new, old_root, new_root, proof) == same_shape
