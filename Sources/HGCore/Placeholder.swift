import HGCrypto
