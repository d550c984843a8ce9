import HGCore
